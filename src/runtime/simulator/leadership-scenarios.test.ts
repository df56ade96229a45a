/**
 * Leadership on the simulator, with the core's defaults (pre-vote, check-quorum): a transfer under a steady
 * load of proposals, and linearizable reads on a leader cut off from the majority. Each runs on several seeds;
 * a failure names its seed, which reproduces it exactly.
 */
import { describe, expect, it } from 'vitest';
import { type NodeId, status } from '../../core/index.js';
import { type ReadAnswer, Simulator } from './index.js';

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
const MIN_ELECTION_TIMEOUT = 300;

function leaderOf(sim: Simulator<string>): NodeId | undefined {
  return sim.ids.find((id) => sim.node(id).state?.role === 'leader');
}

function electedSimulator(seed: number, nodes: number, observer = {}): Simulator<string> {
  const sim = new Simulator<string>({ nodes, seed, observer });
  if (!sim.runUntil(() => leaderOf(sim) !== undefined, 10_000)) throw new Error(`seed ${seed}: no leader`);
  // Its no-op committed: it serves proposals and reads.
  sim.runFor(200);
  return sim;
}

describe('thesis §3.10 a leadership transfer, on the simulator', () => {
  it('completes within one election timeout under load, losing no acknowledged write', () => {
    for (const seed of SEEDS) {
      const acknowledged = new Map<number, string>();
      const proposed = new Map<string, { index: number; term: number }>();
      const sim = electedSimulator(seed, 3, {
        // A write is acknowledged when the node that took it applies it at the index and term it was given.
        applied: (_node: unknown, entries: readonly { index: number; term: number; command?: string }[]) => {
          for (const entry of entries) {
            const at = entry.command === undefined ? undefined : proposed.get(entry.command);
            if (at !== undefined && at.index === entry.index && at.term === entry.term) {
              acknowledged.set(entry.index, entry.command!);
            }
          }
        },
      });
      let next = 0;
      const load = (ms: number) => {
        for (let t = 0; t < ms; t += 5) {
          const leader = leaderOf(sim);
          if (leader !== undefined) {
            const command = `w${next++}`;
            const at = sim.propose(leader, command);
            if (at !== null) proposed.set(command, at);
          }
          sim.runFor(5);
        }
      };
      load(300);
      const from = leaderOf(sim)!;
      const to = sim.ids.find((id) => id !== from)!;
      const started = sim.now;
      sim.cluster.step(from, { type: 'transferLeadership', to });
      const done = sim.runUntil(() => leaderOf(sim) === to, MIN_ELECTION_TIMEOUT, 1);
      expect(done, `seed ${seed}: ${to} did not take over from ${from}`).toBe(true);
      expect(sim.now - started, `seed ${seed}`).toBeLessThan(MIN_ELECTION_TIMEOUT);
      load(300);
      sim.runFor(1_000);
      expect(acknowledged.size, `seed ${seed}: writes acknowledged`).toBeGreaterThan(50);
      const applied = sim.applied;
      for (const [index, command] of acknowledged) {
        expect(applied[index]?.command, `seed ${seed}: acknowledged write at ${index}`).toBe(command);
      }
    }
  });
});

describe('thesis §6.4 reads on a leader cut off from the majority, on the simulator', () => {
  it('never confirm a read after the cut: they fail, while the majority elects a leader and commits', () => {
    for (const seed of SEEDS) {
      const answers: { node: NodeId; answer: ReadAnswer; at: number }[] = [];
      const sim = electedSimulator(seed, 5, {
        read: (node: { id: NodeId }, answer: ReadAnswer) =>
          answers.push({ node: node.id, answer, at: sim.now }),
      });
      const stale = leaderOf(sim)!;
      const others = sim.ids.filter((id) => id !== stale);
      sim.cluster.partition([[stale, others[0]!], others.slice(1)]);
      const cut = sim.now;
      // Reads keep arriving at the old leader while the majority moves on.
      for (let k = 0; k < 60; k++) {
        sim.cluster.step(stale, { type: 'read', id: `r${k}` });
        const leader = others.slice(1).find((id) => sim.node(id).state?.role === 'leader');
        if (leader !== undefined) sim.propose(leader, `after-cut-${k}`);
        sim.runFor(50);
      }
      const newLeader = others.slice(1).find((id) => sim.node(id).state?.role === 'leader');
      expect(newLeader, `seed ${seed}: the majority elects a leader`).toBeDefined();
      expect(status(sim.node(newLeader!).state!).commitIndex).toBeGreaterThan(
        status(sim.node(stale).state!).commitIndex,
      );
      const fromStale = answers.filter((a) => a.node === stale && a.at >= cut);
      expect(
        fromStale.filter((a) => a.answer.type === 'readReady'),
        `seed ${seed}`,
      ).toEqual([]);
      // Every read got its answer: failed, with the best hint the cut-off node has.
      expect(fromStale.length, `seed ${seed}`).toBe(60);
    }
  });
});

describe('thesis §6.4.1 lease reads on a leader cut off from the majority, on the simulator', () => {
  it('serve by lease only until the majority could elect another leader: never the value it overwrote', () => {
    for (const seed of SEEDS) {
      const answers: { node: NodeId; answer: ReadAnswer; at: number }[] = [];
      let overwrittenAt: number | undefined;
      const sim = new Simulator<string>({
        nodes: 5,
        seed,
        config: { leaseReads: true },
        observer: {
          read: (node: { id: NodeId }, answer: ReadAnswer) =>
            answers.push({ node: node.id, answer, at: sim.now }),
          applied: (_node: unknown, entries: readonly { command?: string }[]) => {
            if (entries.some((entry) => entry.command === 'overwrite')) overwrittenAt ??= sim.now;
          },
        },
      });
      if (!sim.runUntil(() => leaderOf(sim) !== undefined, 10_000))
        throw new Error(`seed ${seed}: no leader`);
      sim.runFor(500);
      const stale = leaderOf(sim)!;
      sim.propose(stale, 'before');
      sim.runFor(200);
      const others = sim.ids.filter((id) => id !== stale);
      sim.cluster.partition([[stale, others[0]!], others.slice(1)]);
      const cut = sim.now;
      // Reads keep arriving at the old leader while the majority elects a leader and overwrites the value.
      for (let k = 0; k < 400; k++) {
        sim.cluster.step(stale, { type: 'read', id: `r${k}` });
        const leader = others.slice(1).find((id) => sim.node(id).state?.role === 'leader');
        if (leader !== undefined && overwrittenAt === undefined) sim.propose(leader, 'overwrite');
        sim.runFor(5);
      }
      expect(overwrittenAt, `seed ${seed}: the majority overwrites the value`).toBeDefined();
      const served = answers.filter((a) => a.node === stale && a.at >= cut && a.answer.type === 'readReady');
      // The lease was in use: reads were served after the cut, at once, each at the index of 'before'.
      expect(served.length, `seed ${seed}: lease reads after the cut`).toBeGreaterThan(0);
      // ... and the last of them before the majority could even elect a leader, let alone overwrite the value.
      const last = Math.max(...served.map((a) => a.at));
      expect(last, `seed ${seed}`).toBeLessThan(cut + MIN_ELECTION_TIMEOUT);
      expect(last, `seed ${seed}`).toBeLessThan(overwrittenAt!);
    }
  });
});
