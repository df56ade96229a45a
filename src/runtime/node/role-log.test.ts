/**
 * The leadership log: a line for each change of role, term, vote or leader, saying why (role-log.ts), and
 * nothing while the cluster runs steadily.
 */
import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../core/index.js';
import { Cluster } from '../simulator/index.js';
import { RoleLog } from './role-log.js';
import { configFor, during, TestCluster } from './test-support.js';

const ids = ['a', 'b', 'c'];

function loggingCluster(options: { checkQuorum?: boolean; throwing?: boolean } = {}) {
  const lines = new Map<string, string[]>(ids.map((id) => [id, []]));
  const cluster = new TestCluster(ids, (id) => ({
    config: { ...configFor(id, ids, ids.indexOf(id) + 1), checkQuorum: options.checkQuorum ?? true },
    logLeadership: (line) => {
      lines.get(id)!.push(line);
      if (options.throwing) throw new Error('the log is full');
    },
  }));
  return { cluster, lines };
}

/** A started logging cluster, its first leader and that leader's term. */
async function elected(options: Parameters<typeof loggingCluster>[0] = {}) {
  const { cluster, lines } = loggingCluster(options);
  await cluster.start();
  const leader = (await cluster.leader()).node;
  return { cluster, lines, leader, term: leader.status().term };
}

/** The lines `id` wrote from the `from`th on. */
function since(lines: Map<string, string[]>, id: NodeId, from: number): string[] {
  return lines.get(id)!.slice(from);
}

describe('the leadership log', () => {
  it('says who campaigned and why, who won, and whom the others follow; then nothing while all is well', async () => {
    const { cluster, lines } = loggingCluster();
    await cluster.start();
    const leader = await cluster.leader();
    await cluster.run(200);
    const id = leader.node.id;
    const others = ids.filter((o) => o !== id);
    const { term } = leader.node.status();
    expect(lines.get(id)).toEqual([
      'started in term 0',
      `pre-vote for term ${term} (no leader heard for an election timeout)`,
      expect.stringMatching(
        new RegExp(
          `^campaigning in term ${term} \\(pre-vote won, the last grant from (${others.join('|')})\\)$`,
        ),
      ),
      `became leader in term ${term}`,
    ]);
    for (const other of others) {
      expect(lines.get(other)).toContain(
        `term ${term}: voted for ${id} (RequestVote from ${id} in term ${term})`,
      );
      expect(lines.get(other)!.at(-1)).toBe(`following ${id} in term ${term}`);
    }
    const before = ids.map((o) => lines.get(o)!.length);
    await cluster.run(1_000);
    expect(ids.map((o) => lines.get(o)!.length)).toEqual(before);
    await cluster.stop();
  });

  it('says when a leader steps down for want of a majority (check-quorum)', async () => {
    const { cluster, lines, leader, term } = await elected();
    cluster.network.isolate(leader.id);
    await cluster.run(1_000);
    expect(lines.get(leader.id)).toContain(
      `stepped down as leader of term ${term}: no majority heard within an election timeout (check-quorum)`,
    );
    await cluster.stop();
  });

  it('says which term a deposed leader led, and whom it follows now (check-quorum off)', async () => {
    const { cluster, lines, leader: old, term } = await elected({ checkQuorum: false });
    const written = lines.get(old.id)!.length;
    cluster.network.isolate(old.id);
    await cluster.run(1_000);
    const next = (await cluster.leader(5_000, ({ node }) => node.id !== old.id)).node;
    const newTerm = next.status().term;
    expect(newTerm).toBeGreaterThan(term);
    expect(since(lines, old.id, 0).at(-1)).toBe(`became leader in term ${term}`);
    cluster.network.heal();
    await cluster.run(300);
    expect(since(lines, old.id, written)).toEqual([
      `stepped down as leader of term ${term}: AppendEntries from ${next.id} in term ${newTerm}; following ${next.id} in term ${newTerm}`,
    ]);
    await cluster.stop();
  });

  it('names a leadership transfer on both sides (thesis §3.10)', async () => {
    const { cluster, lines, leader: old, term } = await elected();
    const target = ids.find((id) => id !== old.id)!;
    const [oldFrom, targetFrom] = [lines.get(old.id)!.length, lines.get(target)!.length];
    const transferred = old.transferLeadership(target);
    await cluster.run(300);
    await transferred;
    const next = term + 1;
    expect(since(lines, old.id, oldFrom)).toEqual([
      `transferring leadership to ${target}`,
      `stepped down as leader of term ${term}: for the transfer to ${target} (RequestVote from ${target} in term ${next}, for a leadership transfer); now in term ${next}: voted for ${target}`,
      `following ${target} in term ${next}`,
    ]);
    expect(since(lines, target, targetFrom)).toEqual([
      `campaigning in term ${next} (leadership transfer: TimeoutNow from ${old.id})`,
      `became leader in term ${next}`,
    ]);
    await cluster.stop();
  });

  it('says a restarted node started again with the term and vote it had', async () => {
    const { cluster, lines, leader, term } = await elected();
    const follower = ids.find((id) => id !== leader.id)!;
    const { votedFor } = (await cluster.restart(follower)).node.status();
    await cluster.run(300);
    const vote = votedFor === null ? '' : `, voted for ${votedFor}`;
    expect(lines.get(follower)).toContain(`started in term ${term}${vote}`);
    expect(lines.get(follower)!.at(-1)).toBe(`following ${leader.id} in term ${term}`);
    await cluster.stop();
  });

  it('says a leader that a configuration removed stepped down for it (thesis §4.2.2)', async () => {
    const { cluster, lines, leader, term } = await elected();
    const written = lines.get(leader.id)!.length;
    const rest = ids.filter((id) => id !== leader.id);
    await during(cluster, leader.changeMembership(rest), 2_000);
    await cluster.run(100);
    expect(since(lines, leader.id, written)[0]).toMatch(
      new RegExp(
        `^stepped down as leader of term ${term}: the configuration that removes it is committed \\(`,
      ),
    );
    await cluster.stop();
  });

  it('keeps the node going when writing a line throws', async () => {
    const { cluster, lines, leader } = await elected({ throwing: true });
    await expect(leader.propose('x')).resolves.toBeGreaterThan(0);
    expect(lines.get(leader.id)).toContain(`became leader in term ${leader.status().term}`);
    await cluster.stop();
  });
});

describe('the leadership log over the simulator', () => {
  it('after a start again, says whom the node follows, also the leader it followed before', () => {
    const lines: string[] = [];
    const logs = new Map(ids.map((id) => [id, new RoleLog((line) => lines.push(`${id}: ${line}`))]));
    const cluster = new Cluster<string>({
      ids,
      config: (id) => configFor(id, ids, ids.indexOf(id) + 1),
      observer: {
        transition: (node, event, _before, after) => logs.get(node.id)!.observe(event, after),
        restarted: (node) => logs.get(node.id)!.observe(undefined, node.state!),
      },
    });
    cluster.runUntil(2_000);
    const leader = ids.find((id) => cluster.node(id).state!.role === 'leader')!;
    const follower = ids.find((id) => id !== leader)!;
    const { term, votedFor } = cluster.node(follower).state!;
    const from = lines.length;
    cluster.restart(follower);
    cluster.runUntil(4_000);
    const vote = votedFor === null ? '' : `, voted for ${votedFor}`;
    expect(lines.slice(from).filter((line) => line.startsWith(`${follower}:`))).toEqual([
      `${follower}: started again from its durable state in term ${term}${vote}`,
      `${follower}: following ${leader} in term ${term}`,
    ]);
  });

  it('does not say a configuration removed a leader deposed before its removal was committed', () => {
    const lines: string[] = [];
    const logs = new Map(ids.map((id) => [id, new RoleLog((line) => lines.push(`${id}: ${line}`))]));
    const config = (id: string) => ({ ...configFor(id, ids), preVote: false, checkQuorum: false });
    const cluster = new Cluster<string>({
      ids,
      config,
      observer: { transition: (node, event, _before, after) => logs.get(node.id)!.observe(event, after) },
    });
    const deliver = (to?: string) => {
      for (let next = cluster.nextToArrive(); next !== undefined; next = cluster.nextToArrive()) {
        if (to === undefined || next.message.to === to) cluster.deliver(next);
        else cluster.drop(next);
      }
    };
    cluster.fire('a', 'election');
    deliver();
    cluster.step('a', { type: 'changeMembership', voters: ['b', 'c'], learners: [] });
    // Deliver until the joint configuration is committed and the one without `a` appended, then lose the rest.
    const a = () => cluster.node('a').state!;
    for (let next = cluster.nextToArrive(); next !== undefined; next = cluster.nextToArrive()) {
      cluster.deliver(next);
      const { current } = a().configs;
      if (current.membership.outgoing === undefined && current.index > a().commitIndex) break;
    }
    deliver('nobody');
    expect(a().configs.current.membership.voters).toEqual(['b', 'c']);
    cluster.fire('b', 'election');
    deliver('a');
    expect(a().role).toBe('follower');
    expect(lines.filter((line) => line.startsWith('a: stepped down'))).toEqual([
      'a: stepped down as leader of term 1: RequestVote from b in term 2; now in term 2',
    ]);
  });
});
