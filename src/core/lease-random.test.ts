/**
 * Lease reads under random faulty histories on the simulator (timers keep time): a read answered by lease (in
 * the very transition that steps it) returns an index at least every node's commit index at that moment, so a
 * write committed anywhere, by any leader, before the read is never missed. Histories mix partitions, restarts,
 * membership changes (a voter removed to a learner and added back), transfers and snapshots, with and without
 * pre-vote.
 */
import { describe, expect, it } from 'vitest';
import type { Cmd } from '../../test/support/core.js';
import { Simulator, UNRELIABLE } from '../runtime/simulator/index.js';
import { type Event, init, type RaftState, step } from './index.js';

function run(seed: number, preVote: boolean): { leaseReads: number; violations: string[] } {
  let leaseReads = 0;
  const violations: string[] = [];
  const sim: Simulator<Cmd> = new Simulator<Cmd>({
    nodes: 5,
    seed,
    faults: UNRELIABLE,
    config: { leaseReads: true, preVote, checkQuorum: true },
    reducer: {
      init,
      step: (state: RaftState<Cmd>, event: Event<Cmd>) => {
        const result = step(state, event);
        if (event.type === 'read') {
          for (const effect of result[1]) {
            if (effect.type !== 'readReady') continue;
            leaseReads++;
            for (const id of sim.ids) {
              const other = sim.node(id).state;
              if (other !== null && other.commitIndex > effect.index) {
                violations.push(
                  `t=${sim.now} ${state.settings.id} (term ${state.term}) read ${effect.index} by lease; ${id} (term ${other.term}, ${other.role}) committed ${other.commitIndex}`,
                );
              }
            }
          }
        }
        return result;
      },
    },
  });
  const ids = sim.ids;
  const leaders = () => ids.filter((id) => sim.node(id).state?.role === 'leader');
  for (let round = 0; round < 200; round++) {
    const leaderId = leaders()[0];
    if (leaderId !== undefined) {
      if (round % 23 === 4) {
        const out = ids[(round >> 1) % 5]!;
        sim.cluster.step(leaderId, {
          type: 'changeMembership',
          voters: ids.filter((id) => id !== out),
          learners: [out],
        });
      }
      if (round % 23 === 15) sim.cluster.step(leaderId, { type: 'changeMembership', voters: [...ids] });
      if (round % 19 === 7)
        sim.cluster.step(leaderId, { type: 'transferLeadership', to: ids[(round + 1) % 5]! });
    }
    if (round % 11 === 3) {
      const id = ids[round % 5]!;
      if (sim.node(id).state !== null) sim.cluster.snapshot(id, `s-${round}`);
    }
    if (round % 29 === 5) sim.restart(ids[(round * 3) % 5]!);
    // Cut off whoever leads now (alone, or with one follower), or split the cluster, then heal.
    if (round % 6 === 1 && leaderId !== undefined) {
      const rest = ids.filter((id) => id !== leaderId);
      sim.cluster.partition(round % 12 === 1 ? [[leaderId], rest] : [[leaderId, rest[0]!], rest.slice(1)]);
    }
    if (round % 6 === 5) sim.cluster.heal();
    // Every few virtual ms: reads everywhere (so that some land just before a lease ends) and a write on
    // every node that thinks it leads.
    for (let k = 0; k < 40; k++) {
      for (const id of leaders()) sim.propose(id, `cmd-${round}-${k}`);
      for (const id of ids)
        if (sim.node(id).state !== null) sim.cluster.step(id, { type: 'read', id: `r${round}-${k}` });
      sim.runFor(5);
    }
  }
  return { leaseReads, violations };
}

describe('lease reads on random faulty histories', () => {
  for (const preVote of [true, false]) {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      it(`never miss a committed write (seed ${seed}, preVote ${preVote})`, () => {
        const { leaseReads, violations } = run(seed, preVote);
        expect(violations.slice(0, 5)).toEqual([]);
        expect(leaseReads).toBeGreaterThan(1000);
      });
    }
  }
});
