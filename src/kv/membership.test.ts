/**
 * Membership changes through the HTTP API, with key-value nodes in this process over real TCP: a new node joins
 * as a learner (its addresses recorded in the replicated address book), catches up, is promoted; a voter and
 * the leader itself are removed; followers redirect; the transports follow the configuration.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeId } from '../core/index.js';
import { formatAddress } from './address.js';
import { freePorts } from './free-ports.js';
import { KvNode } from './kv-node.js';
import { PeerCache } from './peer-cache.js';
import { InProcessCluster } from './test-support.js';

let cluster: InProcessCluster | undefined;

/** Starts this test's cluster; `afterEach` stops it. */
async function startCluster(ids?: readonly NodeId[]): Promise<InProcessCluster> {
  cluster = await InProcessCluster.start(ids);
  return cluster;
}
afterEach(async () => {
  await cluster?.stop();
  expect(cluster?.fatal ?? []).toEqual([]);
  cluster = undefined;
});

/** Starts node `id` to join `c`: empty data, seeded with the members' addresses, started with the voters. */
async function joiner(c: InProcessCluster, id: NodeId, voters: readonly NodeId[]): Promise<KvNode> {
  const [raft, http] = (await freePorts(2)) as [number, number];
  const node = new KvNode(
    {
      id,
      raft: { host: '127.0.0.1', port: raft },
      http: { host: '127.0.0.1', port: http },
      peers: Object.fromEntries(
        c.nodes.map(({ config }) => [config.id, { raft: config.raft, http: config.http }]),
      ),
      initialVoters: voters,
      dataDir: join(c.root, id),
      secret: 'test secret',
      electionTimeout: [150, 300],
      heartbeatInterval: 50,
    },
    () => {},
    (error) => c.fatal.push(error),
  );
  await node.start();
  c.nodes.push(node);
  return node;
}

async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  ms = 5_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const json = (body: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body) });

/** A membership with its ids sorted: each node lists the founding voters in its own order. */
function sorted(m: { voters: string[]; learners: string[] }) {
  return { voters: [...m.voters].sort(), learners: [...m.learners].sort() };
}

describe('membership through the HTTP API', () => {
  it('adds a learner that catches up, promotes it, and removes a voter; followers redirect', async () => {
    const c = await startCluster();
    const { leader, followers } = await c.roles();
    let [follower, other] = followers as [KvNode, KvNode];
    for (let i = 0; i < 20; i++) await c.call(leader, `/kv/k${i}`, { method: 'PUT', body: `v${i}` });

    const redirected = await c.call(follower, '/cluster');
    expect(redirected.status).toBe(307);
    expect(redirected.headers.get('location')).toBe(`http://${formatAddress(leader.config.http)}/cluster`);
    const before = await c.call(leader, '/cluster');
    expect(before.json).toMatchObject({ leader: leader.config.id, changing: false });
    expect(before.json.members.map((m: { id: string; role: string }) => `${m.id}:${m.role}`).sort()).toEqual([
      'a:voter',
      'b:voter',
      'c:voter',
    ]);

    const d = await joiner(c, 'd', ['a', 'b', 'c']);
    const request = { id: 'd', raft: formatAddress(d.config.raft), http: formatAddress(d.config.http) };
    expect((await c.call(follower, '/cluster/learners', json(request))).status).toBe(307);
    const added = await c.call(leader, '/cluster/learners', json(request));
    expect(added).toMatchObject({ status: 200, json: { id: 'd' } });
    expect(sorted(added.json.membership)).toEqual({ voters: ['a', 'b', 'c'], learners: ['d'] });
    await until('d to apply every write', () => (d.machine.read('k19') === 'v19' ? true : undefined));
    expect(d.node.status().role).toBe('learner');
    // Every node recorded d's addresses, and the leader's transport reaches it.
    for (const node of c.nodes)
      expect(node.machine.addressBook.get('d')).toEqual({ raft: request.raft, http: request.http });
    expect(leader.transport.members).toContain('d');

    // `active` is "heard from since the last check-quorum tick", which clears it for every member: look again
    // until an append's answer has set it.
    const learner = await until('the leader to see d active', async () => {
      const view = await c.call(leader, '/cluster');
      const found = view.json.members.find((m: { id: string; active: boolean }) => m.id === 'd');
      return found?.active === true ? found : undefined;
    });
    expect(learner).toMatchObject({ role: 'learner', raft: request.raft, http: request.http, active: true });
    expect(learner.lag).toBeLessThanOrEqual(1);
    const metrics = (await c.call(leader, '/metrics')).text;
    expect(metrics).toContain('pureraft_member{id="d",role="learner"} 1');
    expect(metrics).toMatch(/pureraft_learner_lag_entries\{id="d"\} \d+/);
    const learnerStatus = (await c.call(d, '/status')).json;
    expect(learnerStatus.role).toBe('learner');
    expect(sorted(learnerStatus.membership)).toEqual({ voters: ['a', 'b', 'c'], learners: ['d'] });

    // Every member keeps d's address in its data directory: restarted with its old flags, a node still knows it.
    await until('the follower to keep d in its peer cache', () =>
      new PeerCache(follower.config.dataDir, () => {}).members.d === undefined ? undefined : true,
    );
    await follower.stop();
    const restarted = new KvNode(
      follower.config,
      () => {},
      (error) => c.fatal.push(error),
    );
    expect(restarted.peerSync.addressOf('d')).toEqual({ raft: d.config.raft, http: d.config.http });
    await restarted.start();
    c.nodes.splice(c.nodes.indexOf(follower), 1, restarted);
    follower = restarted;

    expect((await c.call(follower, '/cluster/promote', json({ id: 'd' }))).status).toBe(307);
    const promoted = await c.call(leader, '/cluster/promote', json({ id: 'd' }));
    expect(promoted.status).toBe(200);
    expect(sorted(promoted.json.membership)).toEqual({ voters: ['a', 'b', 'c', 'd'], learners: [] });
    await until('d to see itself a voter', () => (d.node.status().role === 'follower' ? true : undefined));

    const removed = await c.call(leader, `/cluster/members/${other.config.id}`, { method: 'DELETE' });
    expect(removed.status).toBe(200);
    expect(removed.json.membership.voters).not.toContain(other.config.id);
    expect(leader.transport.members).not.toContain(other.config.id);
    c.nodes.splice(c.nodes.indexOf(other), 1);
    await other.stop();
    // The rest serve: a write through d, read back linearizably through the follower.
    expect((await c.call(d, '/kv/after', { method: 'PUT', body: 'yes', redirect: 'follow' })).status).toBe(
      200,
    );
    expect((await c.call(follower, '/kv/after')).json).toEqual({ key: 'after', value: 'yes' });
    expect((await c.call(leader, '/cluster')).json.members).toHaveLength(3);
  });

  it('refuses what cannot be done, with the reason', async () => {
    const c = await startCluster();
    const { leader } = await c.roles();
    const call = (path: string, init?: RequestInit) => c.call(leader, path, init);
    expect(await call('/cluster/members/zz', { method: 'DELETE' })).toMatchObject({
      status: 404,
      json: { error: 'zz is not a member of the cluster' },
    });
    expect(await call('/cluster/promote', json({ id: 'zz' }))).toMatchObject({ status: 404 });
    expect(await call('/cluster/promote', json({ id: 'b' }))).toMatchObject({
      status: 409,
      json: { error: 'b is already a voter' },
    });
    expect(
      await call('/cluster/learners', json({ id: 'c', raft: '127.0.0.1:1', http: '127.0.0.1:2' })),
    ).toMatchObject({ status: 409, json: { error: 'c is already a voter' } });
    expect(await call('/cluster/learners', { method: 'POST', body: '{"id":' })).toMatchObject({
      status: 400,
    });
    // A learner the leader cannot reach cannot be promoted.
    const ghost = { id: 'ghost', raft: '127.0.0.1:9', http: '127.0.0.1:9' };
    expect((await call('/cluster/learners', json(ghost))).status).toBe(200);
    expect(await call('/cluster/promote', json({ id: 'ghost' }))).toMatchObject({
      status: 409,
      json: { error: expect.stringMatching(/^cannot promote ghost: /) },
    });
  });

  it('passes on the core’s refusal of a change that leaves no voter, with its reason', async () => {
    const c = await startCluster(['solo']);
    const { leader } = await c.roles();
    expect(await c.call(leader, '/cluster/members/solo', { method: 'DELETE' })).toMatchObject({
      status: 409,
      json: { error: 'membership change refused: a configuration needs at least one voter' },
    });
    expect((await c.call(leader, '/kv/still', { method: 'PUT', body: 'here' })).status).toBe(200);
  });

  it('removes the leader itself: it steps down once the change commits, and another leads', async () => {
    const c = await startCluster();
    const { leader, followers } = await c.roles();
    const removed = await c.call(leader, `/cluster/members/${leader.config.id}`, { method: 'DELETE' });
    expect(removed).toMatchObject({ status: 200, json: { id: leader.config.id } });
    expect(removed.json.membership.voters.sort()).toEqual(followers.map((f) => f.config.id).sort());
    const next = await until(
      'a new leader',
      () => followers.find((f) => f.node.status().role === 'leader'),
      5_000,
    );
    expect(leader.node.status().role).not.toBe('leader');
    c.nodes.splice(c.nodes.indexOf(leader), 1);
    await leader.stop();
    expect((await c.call(next, '/kv/x', { method: 'PUT', body: '1' })).status).toBe(200);
  });
});
