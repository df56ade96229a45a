/**
 * The runtime's side of membership changes (§6): `onMembershipChange` reports each configuration that takes
 * effect on a node, and `memberProgress` gives the leader's view of each member's log, which the service
 * reads to tell how far a learner lags before promoting it.
 */
import { describe, expect, it } from 'vitest';
import type { Membership, NodeId } from '../../core/index.js';
import type { MembershipChange } from './node.js';
import { configFor, during, TestCluster } from './test-support.js';

const voters = ['a', 'b', 'c'];

describe('RaftNode and membership changes', () => {
  it('reports each configuration that takes effect, on the leader and on a joining learner', async () => {
    const seen = new Map<NodeId, Membership[]>();
    const committed = new Map<NodeId, Membership>();
    const record = (id: NodeId, change: MembershipChange) => {
      const list = seen.get(id) ?? [];
      if (list.at(-1) !== change.current) seen.set(id, [...list, change.current]);
      committed.set(id, change.committed);
    };
    // `d` joins: started, as the contract says, with the cluster's current voters, which leave it out.
    const cluster = new TestCluster([...voters, 'd'], (id) => ({
      config: configFor(id, voters, voters.indexOf(id) + 2),
      onMembershipChange: (change: MembershipChange) => record(id, change),
    }));
    await cluster.start();
    const leader = await cluster.leader();
    expect(seen.get('d')).toEqual([{ voters, learners: [] }]);
    for (let i = 0; i < 5; i++) await during(cluster, leader.node.propose(`x${i}`), 2_000);

    const final = await during(cluster, leader.node.changeMembership(voters, ['d']), 2_000);
    expect(final).toEqual({ voters, learners: ['d'] });
    await cluster.run(200);
    const joint = { voters, learners: ['d'], outgoing: voters };
    expect(seen.get(leader.node.id)).toEqual([{ voters, learners: [] }, joint, final]);
    // The learner may get the joint entry and the final one in one append: the last one is what counts.
    expect(seen.get('d')!.at(-1)).toEqual(final);
    // Once applied, the final configuration is also the committed one, everywhere.
    for (const id of [...voters, 'd']) expect(committed.get(id), id).toEqual(final);
    expect(cluster.node('d').node.status().role).toBe('learner');
    expect(cluster.node('d').machine.applied).toEqual(['x0', 'x1', 'x2', 'x3', 'x4']);
    await cluster.stop();
  });

  it('gives the leader, and only the leader, each member’s match index', async () => {
    const cluster = new TestCluster([...voters, 'd'], (id) => ({
      config: configFor(id, voters, voters.indexOf(id) + 2),
    }));
    await cluster.start();
    const leader = await cluster.leader();
    await during(cluster, leader.node.changeMembership(voters, ['d']), 2_000);
    await during(cluster, leader.node.propose('y'), 2_000);
    await cluster.run(300);
    const progress = leader.node.memberProgress();
    const { lastIndex } = leader.node.status();
    expect([...progress!.keys()].sort()).toEqual(['a', 'b', 'c', 'd'].filter((id) => id !== leader.node.id));
    for (const [id, { match, active }] of progress!) {
      expect(match, id).toBe(lastIndex);
      expect(active, id).toBe(true);
    }
    // A stopped learner falls behind: its match stays where it was while the log grows.
    await cluster.node('d').node.stop();
    await during(cluster, leader.node.propose('z'), 2_000);
    expect(leader.node.memberProgress()!.get('d')!.match).toBe(lastIndex);
    expect(leader.node.status().lastIndex).toBe(lastIndex + 1);
    for (const id of voters.filter((id) => id !== leader.node.id))
      expect(cluster.node(id).node.memberProgress()).toBeUndefined();
    await cluster.stop();
  });
  it('refuses at once a change the core refuses, though a proposal was queued just before it', async () => {
    // The refusal was judged by the log's end before the queue was stepped: the queued proposal moved it, the
    // change looked appended, and the caller waited out its timeout (over HTTP a 504, "may still be committed").
    const cluster = new TestCluster(['a', 'b', 'c']);
    await cluster.start();
    const { node } = await cluster.leader();
    const first = node.changeMembership(['a', 'b', 'c'], ['d']);
    // Until the final configuration is in the log, not yet committed: a change now is refused by the core.
    for (let step = 0; step < 2_000; step++) {
      const now = node.status();
      if (
        now.membership.outgoing === undefined &&
        now.membership.learners.includes('d') &&
        now.lastIndex > now.commitIndex
      )
        break;
      if (step % 20 === 19) cluster.clock.advance(1);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(node.status().lastIndex).toBeGreaterThan(node.status().commitIndex);
    const write = node.propose('queued');
    await expect(node.changeMembership(['a', 'b', 'c'], [])).rejects.toThrow(
      /the last one is not committed yet/,
    );
    await cluster.run(500);
    await Promise.all([first, write]);
    await cluster.stop();
  });
});
