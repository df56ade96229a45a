/**
 * Reads through the HTTP API at both consistency levels: linearizable through ReadIndex on any node (a
 * follower asks the leader for the index, then answers itself), serializable from the local state at once.
 */
import { describe, expect, it } from 'vitest';
import type { KvNode } from './kv-node.js';
import { clusterPerTest } from './test-support.js';

const each = clusterPerTest();
const call = (node: KvNode, path: string, init?: RequestInit) => each.cluster.call(node, path, init);
const started = () => each.start();

describe('linearizable reads (ReadIndex)', () => {
  it('are served by a follower itself, and see every write acknowledged before them', async () => {
    const { leader, followers } = await started();
    for (let i = 0; i < 20; i++) {
      expect((await call(leader, '/kv/fresh', { method: 'PUT', body: `v${i}` })).status).toBe(200);
      // The follower may not have applied the write yet when the read arrives: it waits until it has.
      const read = await call(followers[i % 2]!, '/kv/fresh');
      expect(read).toMatchObject({ status: 200, json: { key: 'fresh', value: `v${i}` } });
    }
    expect(await call(followers[0]!, '/kv/absent')).toMatchObject({ status: 404 });
    const metrics = (await call(followers[0]!, '/metrics')).text;
    expect(metrics).toMatch(/pureraft_kv_reads_total\{consistency="linearizable"\} 11/);
    expect(metrics).toMatch(/pureraft_read_index_total\{result="served"\} 11/);
    expect((await call(leader, '/metrics')).text).toMatch(
      /pureraft_read_index_total\{result="served"\} [1-9]/,
    );
  });

  it('write no log entry', async () => {
    const { leader } = await started();
    await call(leader, '/kv/k', { method: 'PUT', body: 'v' });
    const { lastIndex } = leader.node.status();
    await Promise.all(Array.from({ length: 50 }, () => call(leader, '/kv/k')));
    expect(leader.node.status().lastIndex).toBe(lastIndex);
  });

  it('that arrive together share ReadIndex requests', async () => {
    const { leader } = await started();
    await call(leader, '/kv/k', { method: 'PUT', body: 'v' });
    const before = leader.reads.requests;
    // Reads that arrive in one turn of the event loop (HTTP requests that came in together) share one request.
    const reads = await Promise.all(Array.from({ length: 100 }, () => leader.read('k', 'linearizable')));
    expect(reads.every((value) => value === 'v')).toBe(true);
    expect(leader.reads.requests - before).toBe(1);
  });

  it('fail with a JSON error when no leader can confirm them, where serializable reads still answer', async () => {
    const { leader, followers } = await started();
    await call(leader, '/kv/k', { method: 'PUT', body: 'last' });
    const [survivor, other] = followers;
    // A serializable read answers what this replica has applied, so let it apply the write first.
    const written = leader.node.status().commitIndex;
    while (survivor!.node.status().appliedIndex < written)
      await new Promise((resolve) => setTimeout(resolve, 10));
    await Promise.all([leader.stop(), other!.stop()]);
    const linearizable = await call(survivor!, '/kv/k');
    expect([503, 504]).toContain(linearizable.status);
    expect(linearizable.json.error).toEqual(expect.any(String));
    expect(await call(survivor!, '/kv/k?consistency=serializable')).toMatchObject({
      status: 200,
      json: { value: 'last' },
    });
  });
});

describe('linearizable reads with lease reads (thesis §6.4.1)', () => {
  it('see every write acknowledged before them, on the leader and through a follower', async () => {
    const { leader, followers } = await each.start(() => ({ leaseReads: true }));
    for (let i = 0; i < 10; i++) {
      expect((await call(leader, '/kv/k', { method: 'PUT', body: `v${i}` })).status).toBe(200);
      expect((await call(leader, '/kv/k')).json.value).toBe(`v${i}`);
      expect((await call(followers[i % 2]!, '/kv/k')).json.value).toBe(`v${i}`);
    }
  });
});

describe('the read index endpoint and read parameters', () => {
  it('answers a follower’s request for a read index only on the leader', async () => {
    const { leader, followers } = await started();
    const index = await call(leader, '/internal/read-index');
    expect(index).toMatchObject({ status: 200, json: { index: expect.any(Number) } });
    expect(index.json.index).toBeGreaterThan(0);
    const elsewhere = await call(followers[0]!, '/internal/read-index');
    expect(elsewhere).toMatchObject({ status: 307, json: { leader: leader.config.id } });
    expect(await call(leader, '/internal/read-index', { method: 'POST' })).toMatchObject({ status: 405 });
  });

  it('refuses a bad consistency level, and one on a write, with a 400 and a JSON error', async () => {
    const { leader } = await started();
    const cases: [string, RequestInit, RegExp][] = [
      ['/kv/k?consistency=strong', {}, /linearizable \(the default\) or serializable, got "strong"/],
      ['/kv/k?consistency=serializable&consistency=linearizable', {}, /given 2 times/],
      ['/kv/k?consistency=linearizable', { method: 'PUT', body: 'v' }, /reads \(GET\) only/],
      ['/kv/k?consistency=serializable', { method: 'DELETE' }, /reads \(GET\) only/],
      ['/kv/k', { headers: { 'X-Client-Id': 'c', 'X-Client-Seq': '-1' } }, /positive integer/],
    ];
    for (const [path, init, error] of cases) {
      const response = await call(leader, path, init);
      expect({ path, status: response.status }).toEqual({ path, status: 400 });
      expect(response.json.error).toMatch(error);
    }
    expect(await call(leader, '/kv/k?consistency=linearizable')).toMatchObject({ status: 404 });
  });
});
