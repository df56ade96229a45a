/**
 * Purity under the hand-made copy (draft.ts) and the Tracker's ownership (progress.ts): the same state stepped
 * twice with the same event gives deep-equal results, and the state stepped is unchanged, over faulty histories
 * with lease reads, reads, membership changes, transfers, snapshots and restarts.
 */
import { describe, expect, it } from 'vitest';
import type { Cmd } from '../../test/support/core.js';
import { Simulator, UNRELIABLE } from '../runtime/simulator/index.js';
import { type Event, init, type RaftState, step } from './index.js';

const plain = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

function run(seed: number): { steps: number; byType: Map<string, number> } {
  let steps = 0;
  const byType = new Map<string, number>();
  const sim = new Simulator<Cmd>({
    nodes: 5,
    seed,
    faults: UNRELIABLE,
    config: { leaseReads: true, preVote: true, checkQuorum: true },
    reducer: {
      init,
      step: (state: RaftState<Cmd>, event: Event<Cmd>) => {
        const before = plain(state);
        const first = step(state, event);
        expect(plain(state), `first step mutated its state (${JSON.stringify(event).slice(0, 200)})`).toEqual(
          before,
        );
        const second = step(state, event);
        expect(plain(state), 'second step mutated its state').toEqual(before);
        expect(
          plain(second[0]),
          `same state and event, different states: ${JSON.stringify(event).slice(0, 300)}`,
        ).toEqual(plain(first[0]));
        expect(plain(second[1]), 'same state and event, different effects').toEqual(plain(first[1]));
        expect(first[0].progress.editable).toBe(false);
        steps++;
        const key = event.type === 'receive' ? event.message.type : event.type;
        byType.set(key, (byType.get(key) ?? 0) + 1);
        return first;
      },
    },
  });
  const ids = sim.ids;
  for (let round = 0; round < 150; round++) {
    const leaderId = ids.find((id) => sim.node(id).state?.role === 'leader');
    if (leaderId !== undefined) {
      sim.propose(leaderId, `cmd-${round}`);
      sim.cluster.step(leaderId, { type: 'read', id: `r-${round}` });
      if (round % 7 === 3) sim.cluster.step(leaderId, { type: 'read', id: `r2-${round}` });
      if (round % 11 === 4) {
        const voters = ids.filter((id) => id !== ids[round % 5]);
        sim.cluster.step(leaderId, { type: 'changeMembership', voters, learners: [ids[round % 5]!] });
      }
      if (round % 11 === 9) sim.cluster.step(leaderId, { type: 'changeMembership', voters: [...ids] });
      if (round % 9 === 6)
        sim.cluster.step(leaderId, { type: 'transferLeadership', to: ids[(round + 1) % 5]! });
    }
    for (const id of ids)
      if (round % 5 === id.length % 5 && sim.node(id).state !== null) sim.cluster.snapshot(id, `s-${round}`);
    if (round % 13 === 5) sim.restart(ids[round % 5]!);
    if (round % 17 === 8) sim.disconnect(ids[(round + 2) % 5]!);
    if (round % 17 === 12) sim.connect(ids[(round + 2) % 5]!);
    sim.runFor(60);
  }
  return { steps, byType };
}

describe('stepping the same state twice', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`gives the same results and leaves the state alone (seed ${seed})`, () => {
      const { steps, byType } = run(seed);
      expect(steps).toBeGreaterThan(300);
      expect(byType.get('AppendEntriesResponse') ?? 0).toBeGreaterThan(20);
    });
  }
});
