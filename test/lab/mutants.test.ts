/**
 * The suite must fail a broken Raft, not only pass the real one: lab tests run against the real core
 * wrapped so as to break it, and must catch it.
 */
import { describe, expect, it } from 'vitest';
import {
  type Effect,
  type Entry,
  type Event,
  init,
  type NodeId,
  type RaftState,
  status,
  step,
} from '../../src/core/index.js';
import type { Reducer } from '../../src/runtime/simulator/index.js';
import type { Command } from './harness.js';
import { runScenario } from './run.js';
import type { Part, Scenario } from './scenario.js';
import { agreementTests } from './scenarios/agreement.js';
import { snapshotTests } from './scenarios/snapshots.js';

/** A leader that counts every acknowledgement twice, as if the next follower had sent it too. */
const doubleCounting: Reducer<Command> = {
  init,
  step(state: RaftState<Command>, event: Event<Command>) {
    const [next, effects] = step(state, event);
    if (
      event.type !== 'receive' ||
      event.message.type !== 'AppendEntriesResponse' ||
      next.role !== 'leader'
    ) {
      return [next, effects];
    }
    const peers = status(next).membership.voters.filter((voter) => voter !== next.settings.id);
    const other = peers[(peers.indexOf(event.message.from) + 1) % peers.length]!;
    const [forged, more] = step(next, { type: 'receive', message: { ...event.message, from: other } });
    return [forged, [...effects, ...more]];
  },
};

/** The real core, with the effects of every transition (init's too) rewritten by `rewrite`. */
function rewritingEffects(
  rewrite: (id: NodeId, effects: readonly Effect<Command>[]) => Effect<Command>[],
): Reducer<Command> {
  return {
    init(config, durable) {
      const [state, effects] = init(config, durable);
      return [state, rewrite(config.id, effects)];
    },
    step(state, event) {
      const [next, effects] = step(state, event);
      return [next, rewrite(next.settings.id, effects)];
    },
  };
}

/** A Raft that ignores its service's snapshots: its log grows without bound. */
const neverCompacting: Reducer<Command> = {
  init,
  step: (state, event) => (event.type === 'snapshot' ? [state, []] : step(state, event)),
};

/** A Raft that, after a restore, applies again the entry at the snapshot's index (if it applied it before). */
function reapplyingAfterRestore(): Reducer<Command> {
  const applied = new Map<NodeId, Entry<Command>[]>();
  return rewritingEffects((id, effects) =>
    effects.flatMap((effect): Effect<Command>[] => {
      if (effect.type === 'apply') applied.set(id, [...(applied.get(id) ?? []), ...effect.entries]);
      if (effect.type !== 'restore') return [effect];
      const again = (applied.get(id) ?? []).filter((entry) => entry.index === effect.snapshot.meta.index);
      return [effect, ...(again.length > 0 ? [{ type: 'apply' as const, entries: again.slice(-1) }] : [])];
    }),
  );
}

/** A Raft that restores the right snapshot with the data of the first one it ever restored. */
function restoringStaleData(): Reducer<Command> {
  let first: unknown;
  return rewritingEffects((_id, effects) =>
    effects.map((effect) => {
      if (effect.type !== 'restore') return effect;
      first ??= effect.snapshot.data;
      return { ...effect, snapshot: { ...effect.snapshot, data: first } };
    }),
  );
}

function scenario(tests: readonly Scenario[], name: string): Scenario {
  return tests.find((test) => test.name === name)!;
}

/** Every seed's run of `test` against `reducer()` fails with a message matching `expected`. */
function expectFailure(part: Part, test: Scenario, reducer: () => Reducer<Command>, expected: RegExp): void {
  for (const seed of [1, 2, 3]) {
    expect(runScenario(part, test, seed, reducer()).error?.message).toMatch(expected);
  }
}

describe('lab suite against broken Rafts', () => {
  it('fails a leader that commits without a majority', () => {
    const test = scenario(agreementTests, 'no agreement if too many followers disconnect');
    expectFailure('B', test, () => doubleCounting, /servers stored it|committed but no majority/);
  });

  it('fails a Raft that never compacts its log', () => {
    const test = scenario(snapshotTests, 'snapshots basic');
    expectFailure('D', test, () => neverCompacting, /Log size too large/);
  });

  it('fails a Raft that applies an entry again after restoring a snapshot', () => {
    const test = scenario(snapshotTests, 'snapshot initialization after crash');
    expectFailure('D', test, reapplyingAfterRestore, /applied index \d+ after \d+/);
  });

  it('fails a Raft that restores stale snapshot data', () => {
    const test = scenario(snapshotTests, 'install snapshots (crash)');
    expectFailure('D', test, restoringStaleData, /commit index=\d+ server=/);
  });
});
