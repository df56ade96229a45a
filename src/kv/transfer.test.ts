/**
 * Leadership transfer through the HTTP API (thesis §3.10): `POST /admin/transfer-leadership`, writes that
 * arrive while the leader hands over, and a leader that hands over before it stops.
 */
import { describe, expect, it } from 'vitest';
import type { KvNode } from './kv-node.js';
import { clusterPerTest } from './test-support.js';

const each = clusterPerTest();
const call = (node: KvNode, path: string, init?: RequestInit) => each.cluster.call(node, path, init);
const started = () => each.start();
const transfer = (node: KvNode, query = '', init: RequestInit = {}) =>
  call(node, `/admin/transfer-leadership${query}`, { method: 'POST', ...init });

describe('POST /admin/transfer-leadership', () => {
  it('hands leadership to the node named, through any node', async () => {
    const { leader, followers } = await started();
    const target = followers[1]!.config.id;
    const redirected = await transfer(followers[0]!, `?to=${target}`);
    expect(redirected).toMatchObject({ status: 307, json: { leader: leader.config.id } });
    const moved = await fetch(redirected.headers.get('location')!, { method: 'POST' });
    expect(moved.status).toBe(200);
    expect(await moved.json()).toMatchObject({ from: leader.config.id, leader: target });
    expect(followers[1]!.node.status().role).toBe('leader');
    const metrics = (await call(leader, '/metrics')).text;
    expect(metrics).toMatch(/pureraft_transfers_started_total 1\n/);
    expect(metrics).toMatch(/pureraft_transfers_completed_total 1\n/);
    // Asked again of the new leader, it is already done.
    expect(await transfer(followers[1]!, `?to=${target}`)).toMatchObject({
      status: 200,
      json: { leader: target },
    });
  });

  it('without a target, hands leadership to another voter', async () => {
    const { leader } = await started();
    const moved = await transfer(leader);
    expect(moved.status).toBe(200);
    expect(moved.json.leader).not.toBe(leader.config.id);
    expect((await each.cluster.leader()).config.id).toBe(moved.json.leader);
  });

  it('answers bad requests with a 4xx and a JSON error', async () => {
    const { leader } = await started();
    const cases: [string, RequestInit, number, RegExp][] = [
      ['?to=', {}, 400, /bad "to": node id must be a non-empty string/],
      ['?to=a&to=b', {}, 400, /given 2 times/],
      ['?to=nobody', {}, 409, /not a voter/],
      ['?to=b', { method: 'GET' }, 405, /not allowed/],
      ['?to=b', { body: 'please' }, 413, /takes no body/],
    ];
    for (const [query, init, status, error] of cases) {
      const response = await transfer(leader, query, init);
      expect({ query, status: response.status }).toEqual({ query, status });
      expect(response.json.error).toMatch(error);
    }
    expect((await transfer(leader, '', { method: 'PUT' })).headers.get('allow')).toBe('POST');
    expect(leader.node.status().role).toBe('leader');
  });

  it('lets writes that arrive during the transfer wait for the new leader instead of failing', async () => {
    const { leader, followers } = await started();
    const writes = Array.from({ length: 40 }, (_, i) =>
      fetch(each.cluster.url(leader, `/kv/during-${i}`), {
        method: 'PUT',
        body: `v${i}`,
        headers: { 'X-Client-Id': `writer-${i}`, 'X-Client-Seq': '1' },
      }).then(async (response) =>
        response.status === 200 ? 200 : `${response.status} ${await response.text()}`,
      ),
    );
    const moved = await transfer(leader, `?to=${followers[0]!.config.id}`);
    expect(moved.status).toBe(200);
    expect(await Promise.all(writes)).toEqual(writes.map(() => 200));
    for (let i = 0; i < 40; i++) {
      expect((await call(followers[0]!, `/kv/during-${i}`)).json.value).toBe(`v${i}`);
    }
  });
});

describe('a leader asked to stop with a hand-over', () => {
  it('hands leadership to another voter first, so the others need not elect one after a timeout', async () => {
    const { leader, followers } = await started();
    await call(leader, '/kv/before', { method: 'PUT', body: 'stop' });
    const { term } = leader.node.status();
    await leader.stop({ handOver: true });
    expect(leader.node.stats.leadership).toMatchObject({ transfersStarted: 1, transfersCompleted: 1 });
    const next = followers.find((node) => node.node.status().role === 'leader');
    expect(next).toBeDefined();
    // No election timed out: the new leader won the one election the transfer asked for, in the next term.
    // (Not "no follower's timer fired": on a loaded machine one may, and its pre-vote loses to the leader.)
    expect(next!.node.status().term).toBe(term + 1);
    expect((await call(next!, '/kv/before')).json.value).toBe('stop');
  });

  it('answers the writes under way as it stops, instead of cutting their connections', async () => {
    const { leader, followers } = await started();
    // Alone, the leader cannot commit: the write stays in its log, and stopping it leaves the outcome unknown.
    await Promise.all(followers.map((node) => node.stop()));
    const write = call(leader, '/kv/x', { method: 'PUT', body: 'v' });
    for (let waited = 0; leader.node.pendingProposals === 0 && waited < 5_000; waited += 10)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(leader.node.pendingProposals).toBe(1);
    await leader.stop({ handOver: true });
    // It closed every connection before the node stopped: the client got no answer at all.
    expect(await write).toMatchObject({
      status: 504,
      json: { error: expect.stringMatching(/may or may not have been applied/) },
    });
  });

  it('stops at once as a follower: it has no leadership to hand over', async () => {
    const { followers } = await started();
    await followers[0]!.stop({ handOver: true });
    // No wall-clock bound here (a loaded machine stretches any): it never started a transfer to wait for.
    expect(followers[0]!.node.stats.leadership.transfersStarted).toBe(0);
  });
});
