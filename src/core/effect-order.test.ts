/**
 * CONTRACT.md, "Effects run in order": a persist comes before every send that depends on it. Checked on
 * every transition of faulty simulated runs, with crashes and restarts.
 */
import { describe, expect, it } from 'vitest';
import { type Cmd, config, settle } from '../../test/support/core.js';
import { Cluster, LONG_REORDERING, Simulator } from '../runtime/simulator/index.js';
import type { Effect, RaftState } from './index.js';
import { init } from './index.js';
import { Output } from './output.js';

function checkOrder(after: RaftState<Cmd>, effects: readonly Effect<Cmd>[]): void {
  const persists = effects.flatMap((effect, i) => (effect.type === 'persist' ? [{ effect, i }] : []));
  expect(persists.length).toBeLessThanOrEqual(1);
  const persist = persists[0];
  if (persist === undefined) return;
  const { effect, i } = persist;
  // Only a leader's own new log entries may be written in parallel with its sends (thesis §10.2.1).
  const sendsMayOverlap =
    after.role === 'leader' && effect.hardState === undefined && effect.truncateFrom === undefined;
  // Not a send that carries a commit index resting on those entries, though: a crash before the write would
  // lose an entry a follower or learner was told is committed.
  const firstWritten = effect.entries?.[0]?.index ?? Number.POSITIVE_INFINITY;
  effects.forEach((other, j) => {
    if (other.type === 'send' && !sendsMayOverlap)
      expect(j, `send before persist: ${JSON.stringify(effects)}`).toBeGreaterThan(i);
    if (
      other.type === 'send' &&
      other.message.type === 'AppendEntries' &&
      other.message.leaderCommit >= firstWritten
    )
      expect(
        j,
        `commit index sent before the entries it counts are written: ${JSON.stringify(effects)}`,
      ).toBeGreaterThan(i);
    if (other.type === 'apply') expect(j).toBeGreaterThan(i);
  });
}

describe('effect order', () => {
  it('every persist precedes the sends that depend on it, over faulty runs with crashes', () => {
    for (const seed of [1, 2, 3]) {
      let transitions = 0;
      const sim = new Simulator<Cmd>({
        nodes: 5,
        seed,
        faults: LONG_REORDERING,
        observer: {
          transition: (_node, _event, _before, after, effects) => {
            transitions++;
            checkOrder(after, effects);
          },
        },
      });
      for (let round = 0; round < 60; round++) {
        const leaderId = sim.ids.find((id) => sim.node(id).state?.role === 'leader');
        if (leaderId !== undefined) sim.propose(leaderId, `c${round}`);
        if (round % 7 === 3) sim.restart(sim.random.pick(sim.ids));
        sim.runFor(150);
      }
      expect(transitions).toBeGreaterThan(500);
    }
  });

  it('a leader that is a quorum by itself tells its learners of a commit only once the entries are on its disk', () => {
    const made = new Cluster<Cmd>({
      ids: ['a', 'l1', 'l2'],
      config: (id) => config(id, ['a'], { learners: ['l1'] }),
    });
    made.fire('a', 'election');
    settle(made);
    made.propose('a', 'x');
    settle(made);
    // A learner joins: the joint configuration commits at once (a is its whole quorum), and the final one is
    // appended in the same transition and sent with a commit index that counts the joint entry, just appended.
    const effects = made.step('a', { type: 'changeMembership', voters: ['a'], learners: ['l1', 'l2'] })!;
    const after = made.node('a').state!;
    expect(after.commitIndex).toBeGreaterThanOrEqual(3);
    checkOrder(after, effects);
  });
});

describe('timers: the last word on a name wins, wherever it is placed', () => {
  const timersOf = (out: Output<Cmd>) =>
    out.effects(base, base).filter((e) => e.type === 'setTimer' || e.type === 'cancelTimer');
  const [base] = init<Cmd>(config('a', ['a']));

  it('a timer armed first comes ahead of the sends; a cancel after it replaces it', () => {
    const out = new Output<Cmd>();
    out.send({
      type: 'RequestVote',
      term: 1,
      from: 'a',
      to: 'b',
      lastLogIndex: 0,
      lastLogTerm: 0,
      transfer: false,
    });
    out.setTimer('lease', 10, true);
    expect(out.effects(base, base).map((e) => e.type)).toEqual(['setTimer', 'send']);
    out.cancelTimer('lease');
    expect(timersOf(out)).toEqual([{ type: 'cancelTimer', timer: 'lease' }]);
  });

  it('a timer armed first after a cancel of the same name replaces the cancel', () => {
    const out = new Output<Cmd>();
    out.cancelTimer('lease');
    out.setTimer('election', 5);
    out.setTimer('lease', 10, true);
    expect(timersOf(out)).toEqual([
      { type: 'setTimer', timer: 'lease', delay: 10 },
      { type: 'setTimer', timer: 'election', delay: 5 },
    ]);
  });
});
