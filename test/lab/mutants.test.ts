/**
 * The suite must fail a broken Raft, not only pass the real one: lab tests run against the real core
 * wrapped so as to break it, and must catch it.
 */
import { describe, expect, it } from 'vitest';
import { type Event, init, type RaftState, status, step } from '../../src/core/index.js';
import type { Reducer } from '../../src/runtime/simulator/index.js';
import type { Command } from './harness.js';
import { runScenario } from './run.js';
import { agreementTests } from './scenarios/agreement.js';

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

describe('lab suite against broken Rafts', () => {
  it('fails a leader that commits without a majority', () => {
    const scenario = agreementTests.find(
      (test) => test.name === 'no agreement if too many followers disconnect',
    )!;
    for (const seed of [1, 2, 3]) {
      const outcome = runScenario('B', scenario, seed, doubleCounting);
      expect(outcome.error?.message).toMatch(/servers stored it|committed but no majority/);
    }
  });
});
