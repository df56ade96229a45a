/**
 * The core is a pure reducer (CONTRACT.md, Semantics 1): it imports nothing but immer and its own files,
 * touches no clock, randomness, timers, process or I/O, never mutates its arguments, and gives deep-equal
 * results for the same arguments. It never throws on a well-typed message (Semantics 6).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Cmd, candidate, durable, entries, follower, leader } from '../../test/support/core.js';
import { Simulator, UNRELIABLE } from '../runtime/simulator/index.js';
import {
  type Config,
  type Durable,
  type Effect,
  type Event,
  init,
  type Message,
  type RaftState,
  step,
} from './index.js';

const coreDir = new URL('.', import.meta.url).pathname;
const sources = readdirSync(coreDir)
  .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))
  .map((name) => ({ name, text: readFileSync(join(coreDir, name), 'utf8') }));

describe('the core is pure', () => {
  it('imports only immer and its own files', () => {
    expect(sources.length).toBeGreaterThan(5);
    for (const { name, text } of sources) {
      for (const [, specifier] of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        expect(
          specifier === 'immer' || /^\.\/[\w-]+\.js$/.test(specifier!),
          `${name} imports ${specifier}`,
        ).toBe(true);
      }
    }
  });

  it('touches no clock, randomness, timers, process or I/O', () => {
    const forbidden =
      /\b(Date|Math\.random|performance|setTimeout|setInterval|setImmediate|queueMicrotask|process|require|globalThis|fetch|console)\b/;
    for (const { name, text } of sources) {
      const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      expect(code.match(forbidden)?.[0], `${name} touches the outside world`).toBeUndefined();
    }
  });
});

/** Deep-freezes plain data (the log's private store is out of reach, and it is append-only by design). */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

/** Everything in a state, the log's entries included, as plain data. */
const snapshot = (state: RaftState<Cmd>) => JSON.parse(JSON.stringify(state)) as unknown;

interface Recording {
  readonly config: Config;
  readonly durable: Durable<Cmd> | undefined;
  readonly initial: { state: unknown; effects: readonly Effect<Cmd>[] };
  readonly steps: { event: Event<Cmd>; state: unknown; effects: readonly Effect<Cmd>[] }[];
}

/**
 * Runs a faulty simulation and records, per node incarnation, how it started and every event it was fed with
 * what came out; every state is deep-frozen before it is stepped, and checked unchanged afterwards.
 */
function recordRun(seed: number) {
  const recordings: Recording[] = [];
  const current = new Map<string, Recording>();
  const sim = new Simulator<Cmd>({
    nodes: 5,
    seed,
    faults: UNRELIABLE,
    reducer: {
      init: (config, durable) => {
        const [state, effects] = init(config, durable);
        structuredClone(state);
        const recording: Recording = {
          config,
          durable,
          initial: { state: snapshot(state), effects },
          steps: [],
        };
        recordings.push(recording);
        current.set(config.id, recording);
        return [state, effects];
      },
      step: (state, event) => {
        const before = snapshot(deepFreeze(state));
        const [next, effects] = step(state, deepFreeze(event));
        expect(snapshot(state), 'step mutated its state argument').toEqual(before);
        // Immer's drafts and the hand-made copies of steady replication (draft.ts) alike hand out frozen states.
        expect(Object.isFrozen(next), 'step returned a state that is not frozen').toBe(true);
        // An outside harness that copies a state (to log it, say) must not meet a function in it.
        structuredClone(next);
        current.get(state.settings.id)!.steps.push({ event, state: snapshot(next), effects });
        return [next, effects];
      },
    },
  });
  for (let round = 0; round < 40; round++) {
    const leaderId = sim.ids.find((id) => sim.node(id).state?.role === 'leader');
    if (leaderId !== undefined) sim.propose(leaderId, `cmd-${round}`);
    if (round % 13 === 5) sim.restart(sim.ids[round % 5]!);
    sim.runFor(100);
  }
  return { sim, recordings };
}

describe('determinism', () => {
  it('the same config and events give deep-equal states and effects, and no state passed to step is mutated', () => {
    const { sim, recordings } = recordRun(7);
    expect(sim.applied.length).toBeGreaterThan(10);
    expect(recordings.length).toBeGreaterThan(5);
    // Replay every incarnation from its init: every state and every effect is reproduced exactly.
    for (const recording of recordings) {
      let [state, effects] = init<Cmd>(recording.config, recording.durable);
      expect({ state: snapshot(state), effects }).toEqual(recording.initial);
      for (const recorded of recording.steps) {
        [state, effects] = step(state, recorded.event);
        expect(snapshot(state)).toEqual(recorded.state);
        expect(effects).toEqual(recorded.effects);
      }
    }
  });

  it('two runs with the same seed are identical; another seed differs', () => {
    const first = recordRun(11);
    const second = recordRun(11);
    expect(second.sim.stats).toEqual(first.sim.stats);
    expect(second.sim.applied).toEqual(first.sim.applied);
    expect(recordRun(12).sim.stats).not.toEqual(first.sim.stats);
  });
});

describe('any message, any time (Semantics 6)', () => {
  // Mostly plausible values (peers of node a, terms and indices near its own), so that messages get past the
  // first checks and reach every handler; some nonsense, so that the checks themselves are exercised.
  const ids = fc.oneof({ arbitrary: fc.constantFrom('b', 'c'), weight: 4 }, fc.constantFrom('a', 'z', ''));
  const to = fc.oneof({ arbitrary: fc.constant('a'), weight: 4 }, ids);
  const index = fc.oneof(
    { arbitrary: fc.nat(12), weight: 4 },
    fc.integer({ min: -3, max: 1e6 }),
    fc.double({ noNaN: false }),
  );
  const term = fc.oneof({ arbitrary: fc.nat(4), weight: 6 }, fc.integer({ min: -2, max: 1e9 }));
  const entry = fc.record({
    index,
    term,
    kind: fc.constantFrom('command', 'noop', 'config'),
    command: fc.string(),
  });
  const message: fc.Arbitrary<Message<Cmd>> = fc.oneof(
    fc.record({
      type: fc.constant('RequestVote'),
      term,
      from: ids,
      to,
      lastLogIndex: index,
      lastLogTerm: term,
    }),
    fc.record({
      type: fc.constant('RequestVoteResponse'),
      term,
      from: ids,
      to,
      voteGranted: fc.boolean(),
    }),
    fc.record({
      type: fc.constant('AppendEntries'),
      term,
      from: ids,
      to,
      prevLogIndex: index,
      prevLogTerm: term,
      entries: fc.array(entry, { maxLength: 4 }),
      leaderCommit: index,
    }),
    fc.record({
      type: fc.constant('AppendEntriesResponse'),
      term,
      from: ids,
      to,
      success: fc.boolean(),
      index,
      conflictTerm: term,
      conflictIndex: index,
    }),
  ) as fc.Arbitrary<Message<Cmd>>;

  it('step never throws on any well-typed message, in any role, with any log', () => {
    const starts = [
      follower('a'),
      follower('a', durable(3, entries(1, 2, 3))),
      candidate('a', durable(2, entries(1, 2))),
      leader('a', durable(2, entries(1, 1, 2))),
      // A leader streaming to b (replicate state), so that responses reach the replicate-state paths too.
      step(leader('a', durable(2, entries(1, 1, 2))), {
        type: 'receive',
        message: {
          type: 'AppendEntriesResponse',
          term: 3,
          from: 'b',
          to: 'a',
          success: true,
          index: 4,
          conflictTerm: 0,
          conflictIndex: 0,
          round: 0,
        },
      })[0],
    ];
    const seed = Number(process.env.PROPERTY_SEED ?? Date.now() % 2 ** 31);
    console.log(`core robustness property: seed ${seed}`);
    fc.assert(
      fc.property(fc.constantFrom(...starts), fc.array(message, { maxLength: 12 }), (start, messages) => {
        let state = start;
        for (const m of messages) state = step(state, { type: 'receive', message: m })[0];
      }),
      { seed, numRuns: 30_000 },
    );
  });
});
