/**
 * The runtime's side of reads and leadership (thesis §6.4, §3.10, §6.2, §9.6): `read()` on the leader and
 * through it, `transferLeadership`, and the leadership counters derived from transitions.
 */
import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../core/index.js';
import { NotLeaderError, RequestRefusedError, TransferFailedError } from './errors.js';
import { configFor, during, TestCluster, type TestNode } from './test-support.js';

const ids = ['a', 'b', 'c'];

/** A cluster whose followers forward reads to the leader's `read()`, as the KV service does over HTTP. */
function forwardingCluster(): TestCluster {
  const cluster: TestCluster = new TestCluster(ids, () => ({
    forwardRead: (leaderId: NodeId) => cluster.node(leaderId).node.read(),
  }));
  return cluster;
}

function others(cluster: TestCluster, node: TestNode): TestNode[] {
  return [...cluster.nodes.values()].filter((other) => other !== node);
}

describe('RaftNode.read (ReadIndex, thesis §6.4)', () => {
  it('resolves on the leader with its commit index, applied here, and counts it', async () => {
    const cluster = forwardingCluster();
    await cluster.start();
    const leader = await cluster.leader();
    const written = await during(cluster, leader.node.propose('x'));
    const index = await during(cluster, leader.node.read());
    expect(index).toBeGreaterThanOrEqual(written);
    expect(leader.node.status().appliedIndex).toBeGreaterThanOrEqual(index);
    expect(leader.node.stats.reads).toEqual({ served: 1, failed: 0 });
    await cluster.stop();
  });

  it('on a follower, asks the leader for the index and waits until it is applied here', async () => {
    const cluster = forwardingCluster();
    await cluster.start();
    const leader = await cluster.leader();
    const [follower] = others(cluster, leader);
    await cluster.run(100);
    // The follower has not heard of the write yet when it reads: the read must wait for it.
    const written = leader.node.propose('y');
    const read = follower!.node.read();
    const index = await during(cluster, read);
    expect(index).toBeGreaterThanOrEqual(await written);
    expect(follower!.machine.applied).toContain('y');
    await cluster.stop();
  });

  it('on a follower that cannot forward, rejects naming the leader', async () => {
    const cluster = new TestCluster(ids);
    await cluster.start();
    const leader = await cluster.leader();
    await cluster.run(100);
    const [follower] = others(cluster, leader);
    await expect(follower!.node.read()).rejects.toMatchObject({
      name: 'NotLeaderError',
      leaderId: leader.node.id,
    });
    expect(follower!.node.stats.reads.failed).toBe(1);
    await cluster.stop();
  });

  it('fails on a leader cut off from the others instead of answering from a state that may be stale', async () => {
    const cluster = new TestCluster(ids);
    await cluster.start();
    const leader = await cluster.leader();
    await cluster.run(100);
    cluster.network.isolate(leader.node.id);
    const read = during(cluster, leader.node.read(), 2_000);
    await expect(read).rejects.toBeInstanceOf(NotLeaderError);
    await cluster.stop();
  });
});

describe('RaftNode.read with lease reads (thesis §6.4.1)', () => {
  /** A cluster with lease reads, whose clock can run ahead of its timers: an event loop that is behind. */
  function leaseCluster() {
    let behindMs = 0;
    const cluster: TestCluster = new TestCluster(ids, (id) => ({
      config: { ...configFor(id, ids, ids.indexOf(id) + 1), leaseReads: true },
      clock: {
        schedule: (delay, callback) => cluster.clock.schedule(delay, callback),
        get now() {
          return cluster.clock.now + behindMs;
        },
      },
    }));
    return { cluster, fallBehind: (ms: number) => (behindMs = ms) };
  }

  /** How the leader's core answered its latest read: at once (by lease), or by sending a round first. */
  function lastReadAnswer(node: TestNode): 'lease' | 'round' {
    const read = node.transitions.findLast((t) => t.event?.type === 'read')!;
    return read.effects.some((e) => e.type === 'send') ? 'round' : 'lease';
  }

  it('answers on the leader by lease once a majority answered the round the lease is measured from', async () => {
    const { cluster } = leaseCluster();
    await cluster.start();
    const leader = await cluster.leader();
    await cluster.run(200);
    const index = await during(cluster, leader.node.read());
    expect(lastReadAnswer(leader)).toBe('lease');
    expect(index).toBe(leader.node.status().commitIndex);
    await cluster.stop();
  });

  it('steps a lease timer that fell due before the read, even when the event loop has not fired it yet', async () => {
    const { cluster, fallBehind } = leaseCluster();
    await cluster.start();
    const leader = await cluster.leader();
    await cluster.run(200);
    fallBehind(1_000);
    await during(cluster, leader.node.read());
    expect(lastReadAnswer(leader)).toBe('round');
    const stepped = leader.transitions.map((t) => t.event);
    const read = stepped.findLastIndex((e) => e?.type === 'read');
    expect(stepped.slice(0, read)).toContainEqual({ type: 'timeout', timer: 'lease' });
    await cluster.stop();
  });
});

describe('RaftNode.transferLeadership (thesis §3.10)', () => {
  it('hands leadership to the voter named, and counts the transfer and the change of leader', async () => {
    const cluster = new TestCluster(ids);
    await cluster.start();
    const leader = await cluster.leader();
    await cluster.run(100);
    const target = others(cluster, leader)[1]!.node.id;
    const changesBefore = leader.node.stats.leadership.leaderChanges;
    await expect(during(cluster, leader.node.transferLeadership(target))).resolves.toBe(target);
    expect(cluster.node(target).node.status().role).toBe('leader');
    expect(leader.node.stats.leadership).toMatchObject({
      transfersStarted: 1,
      transfersCompleted: 1,
      transfersFailed: 0,
      leaderChanges: changesBefore + 1,
    });
    expect(cluster.node(target).node.stats.leadership.electionsStarted).toBe(1);
    await cluster.stop();
  });

  it('without a target, picks the most caught-up voter', async () => {
    const cluster = new TestCluster(ids);
    await cluster.start();
    const leader = await cluster.leader();
    await cluster.run(100);
    const [behind, ahead] = others(cluster, leader);
    // `behind` misses the last writes.
    cluster.network.isolate(behind!.node.id);
    await during(cluster, Promise.all(['p', 'q'].map((command) => leader.node.propose(command))));
    cluster.network.heal();
    await expect(during(cluster, leader.node.transferLeadership())).resolves.toBe(ahead!.node.id);
    await cluster.stop();
  });

  it('refuses a follower, a target outside the configuration, and a lone voter', async () => {
    const cluster = new TestCluster(ids);
    await cluster.start();
    const leader = await cluster.leader();
    await cluster.run(100);
    const [follower] = others(cluster, leader);
    await expect(follower!.node.transferLeadership('a')).rejects.toBeInstanceOf(NotLeaderError);
    await expect(leader.node.transferLeadership('zz')).rejects.toBeInstanceOf(RequestRefusedError);
    await expect(leader.node.transferLeadership(leader.node.id)).resolves.toBe(leader.node.id);
    await cluster.stop();

    const alone = new TestCluster(['s']);
    await alone.start();
    const only = await alone.leader();
    await expect(only.node.transferLeadership()).rejects.toThrow(/no other voter/);
    await alone.stop();
  });

  it('fails once the core gives up on a target that cannot win, and the leader takes proposals again', async () => {
    const cluster = new TestCluster(ids);
    await cluster.start();
    const leader = await cluster.leader();
    await cluster.run(100);
    const [target] = others(cluster, leader);
    cluster.network.isolate(target!.node.id);
    await expect(during(cluster, leader.node.transferLeadership(target!.node.id))).rejects.toBeInstanceOf(
      TransferFailedError,
    );
    expect(leader.node.status().role).toBe('leader');
    expect(leader.node.stats.leadership).toMatchObject({ transfersStarted: 1, transfersFailed: 1 });
    await expect(during(cluster, leader.node.propose('after'))).resolves.toBeGreaterThan(0);
    await cluster.stop();
  });
});

describe('leadership counters', () => {
  it('count elections, pre-votes lost, leader changes and check-quorum step-downs', async () => {
    const cluster = new TestCluster(ids);
    await cluster.start();
    const leader = await cluster.leader();
    await cluster.run(100);
    expect(leader.node.stats.leadership.electionsStarted).toBe(1);
    expect(leader.node.stats.leadership.preVotesStarted).toBe(1);
    for (const { node } of cluster.nodes.values()) expect(node.stats.leadership.leaderChanges).toBe(1);
    // Cut off, the leader steps down (check-quorum, thesis §6.2); its pre-votes then go unanswered.
    cluster.network.isolate(leader.node.id);
    await cluster.run(1_500);
    const stats = leader.node.stats.leadership;
    expect(stats.checkQuorumStepDowns).toBe(1);
    expect(stats.preVotesLost).toBeGreaterThan(0);
    expect(stats.electionsStarted).toBe(1);
    const [other] = others(cluster, leader);
    expect(other!.node.stats.leadership.leaderChanges).toBe(2);
    await cluster.stop();
  });
});
