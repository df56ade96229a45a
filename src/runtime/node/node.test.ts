import { describe, expect, it } from 'vitest';
import type { Durable } from '../../core/index.js';
import { MemoryStorage, type PersistEffect, type Storage } from '../../effects/storage/index.js';
import {
  NodeStoppedError,
  NotLeaderError,
  OverloadedError,
  ProposalLostError,
  ProposalTimeoutError,
} from './errors.js';
import { settle, TestCluster } from './test-support.js';

const ids = ['a', 'b', 'c'];

describe('RaftNode', () => {
  it('elects a leader, commits proposals and applies them on every node in the same order', async () => {
    const cluster = new TestCluster(ids);
    await cluster.start();
    const leader = await cluster.leader();
    const results = Promise.all(['x', 'y', 'z'].map((command) => leader.node.propose(command)));
    await cluster.run(100);
    const indices = await results;
    expect(indices).toEqual([...indices].sort((p, q) => p - q));
    for (const { machine, node } of cluster.nodes.values()) {
      expect(machine.applied).toEqual(['x', 'y', 'z']);
      expect(node.status().appliedIndex).toBe(indices[2]);
    }
    await cluster.stop();
  });

  it('refuses a proposal on a follower at once, naming the leader', async () => {
    const cluster = new TestCluster(ids);
    await cluster.start();
    const leader = await cluster.leader();
    await cluster.run(100);
    const follower = ids.find((id) => id !== leader.node.id)!;
    const refusal = cluster.node(follower).node.propose('x');
    await expect(refusal).rejects.toBeInstanceOf(NotLeaderError);
    await expect(refusal).rejects.toMatchObject({ leaderId: leader.node.id });
    expect(cluster.node(follower).node.stats.proposals.notLeader).toBe(1);
    await cluster.stop();
  });

  it('bounds the proposals it holds: past the limit it answers "overloaded" at once', async () => {
    const cluster = new TestCluster(ids, () => ({ maxPendingProposals: 2 }));
    await cluster.start();
    const leader = await cluster.leader();
    const accepted = [leader.node.propose('1'), leader.node.propose('2')];
    await expect(leader.node.propose('3')).rejects.toBeInstanceOf(OverloadedError);
    expect(leader.node.stats.proposals.overloaded).toBe(1);
    await cluster.run(100);
    await Promise.all(accepted);
    await expect(leader.node.propose('4')).resolves.toBeGreaterThan(0);
    await cluster.stop();
  });

  it('rejects a proposal whose entry was replaced after a change of leader', async () => {
    const cluster = new TestCluster(ids);
    await cluster.start();
    const old = await cluster.leader();
    await cluster.run(100);
    cluster.network.isolate(old.node.id);
    const stranded = old.node.propose('stranded');
    stranded.catch(() => {});
    // The others elect a new leader, which commits its own entries at the stranded one's index.
    let next = old;
    for (let waited = 0; next === old && waited < 5_000; waited += 50) {
      await cluster.run(50);
      next = [...cluster.nodes.values()].find((n) => n !== old && n.node.status().role === 'leader') ?? old;
    }
    expect(next).not.toBe(old);
    const replacement = next.node.propose('replacement');
    await cluster.run(100);
    await replacement;
    cluster.network.heal();
    await cluster.run(500);
    await expect(stranded).rejects.toBeInstanceOf(ProposalLostError);
    expect(old.machine.applied).toEqual(['replacement']);
    expect(old.node.stats.proposals.lost).toBe(1);
    await cluster.stop();
  });

  it('times out a proposal that cannot commit', async () => {
    const cluster = new TestCluster(ids, () => ({ proposalTimeoutMs: 1_000 }));
    await cluster.start();
    const leader = await cluster.leader();
    cluster.network.isolate(leader.node.id);
    const proposal = leader.node.propose('x');
    proposal.catch(() => {});
    await cluster.run(1_100);
    await expect(proposal).rejects.toBeInstanceOf(ProposalTimeoutError);
    expect(leader.node.pendingProposals).toBe(0);
    await cluster.stop();
  });

  it('never lets a send overtake a persist that is not yet durable, within or across transitions, while writes pipeline', async () => {
    // Every effect gets its place in the node's effect order; storage and network log what they see by place.
    const places = new WeakMap<object, number>();
    const log: { id: string; what: 'begins' | 'ends' | 'send'; place: number }[] = [];
    const cluster = new TestCluster(ids, (id) => {
      let next = 0;
      return {
        storage: new SlowStorage((what, effect) => log.push({ id, what, place: places.get(effect)! })),
        onTransition: (_event, _state, effects) => {
          for (const effect of effects) places.set(effect.type === 'send' ? effect.message : effect, next++);
        },
      };
    });
    const route = cluster.network.route.bind(cluster.network);
    cluster.network.route = (sender, running, message) => {
      log.push({ id: sender, what: 'send', place: places.get(message)! });
      route(sender, running, message);
    };
    await cluster.start();
    const leader = await cluster.leader();
    const results = Promise.all(['p', 'q', 'r', 's'].map((command) => leader.node.propose(command)));
    await cluster.run(200);
    await results;
    let pipelined = 0;
    for (const id of ids) {
      const writing = new Set<number>();
      for (const { what, place } of log.filter((line) => line.id === id)) {
        if (what === 'begins') writing.add(place);
        if (what === 'ends') writing.delete(place);
        if (what === 'send') {
          const earlier = [...writing].filter((write) => write < place);
          expect(earlier, `${id} sent effect ${place} before earlier writes were durable`).toEqual([]);
        }
        if (writing.size > 1) pipelined++;
      }
    }
    expect(log.filter((line) => line.what === 'begins').length).toBeGreaterThan(6);
    expect(pipelined, 'writes of several transitions in flight at once').toBeGreaterThan(0);
    await cluster.stop();
  });

  it('stops after a failed disk write, rejecting what it holds, and reports the failure', async () => {
    const failures: Error[] = [];
    let failWrites = false;
    const cluster = new TestCluster(ids, () => {
      const storage = new MemoryStorage<string>();
      const persist = storage.persist.bind(storage);
      storage.persist = (effect) =>
        failWrites ? Promise.reject(new Error('disk on fire')) : persist(effect);
      return { storage, onFatal: (error) => failures.push(error) };
    });
    await cluster.start();
    const leader = await cluster.leader();
    await cluster.run(100);
    failWrites = true;
    const proposal = leader.node.propose('x');
    proposal.catch(() => {});
    await cluster.run(20);
    await expect(proposal).rejects.toBeInstanceOf(NodeStoppedError);
    expect(failures.map((error) => error.message)).toContain('disk on fire');
    await expect(leader.node.propose('y')).rejects.toBeInstanceOf(NodeStoppedError);
    await cluster.stop();
  });
});

/** A storage whose writes take a few macrotasks, telling when each begins and ends. */
class SlowStorage implements Storage<string> {
  readonly #inner = new MemoryStorage<string>();

  constructor(private readonly tell: (what: 'begins' | 'ends', effect: PersistEffect<string>) => void) {}

  load(): Promise<Durable<string>> {
    return this.#inner.load();
  }

  async persist(effect: PersistEffect<string>): Promise<void> {
    this.tell('begins', effect);
    await settle(3);
    await this.#inner.persist(effect);
    this.tell('ends', effect);
  }

  get snapshots() {
    return this.#inner.snapshots;
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
