/**
 * CONTRACT.md, "Effects run in order": a persist comes before every send that depends on it. Checked on
 * every transition of faulty simulated runs, with crashes and restarts.
 */
import { describe, expect, it } from 'vitest';
import type { Cmd } from '../../test/support/core.js';
import { LONG_REORDERING, Simulator } from '../runtime/simulator/index.js';
import type { Effect, RaftState } from './index.js';

function checkOrder(after: RaftState<Cmd>, effects: readonly Effect<Cmd>[]): void {
  const persists = effects.flatMap((effect, i) => (effect.type === 'persist' ? [{ effect, i }] : []));
  expect(persists.length).toBeLessThanOrEqual(1);
  const persist = persists[0];
  if (persist === undefined) return;
  const { effect, i } = persist;
  // Only a leader's own new log entries may be written in parallel with its sends (thesis §10.2.1).
  const sendsMayOverlap =
    after.role === 'leader' && effect.hardState === undefined && effect.truncateFrom === undefined;
  effects.forEach((other, j) => {
    if (other.type === 'send' && !sendsMayOverlap)
      expect(j, `send before persist: ${JSON.stringify(effects)}`).toBeGreaterThan(i);
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
});
