import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KvNode } from './kv-node.js';
import { InProcessCluster } from './test-support.js';

let cluster: InProcessCluster;
let leader: KvNode;
let follower: KvNode;

beforeAll(async () => {
  cluster = await InProcessCluster.start();
  leader = await cluster.leader();
  follower = cluster.nodes.find((node) => node !== leader)!;
});
afterAll(async () => {
  await cluster?.stop();
  expect(cluster?.fatal ?? []).toEqual([]);
});

const call = (node: KvNode, path: string, init?: RequestInit) => cluster.call(node, path, init);

describe('the key-value HTTP API', () => {
  it('puts, gets, deletes and compares-and-sets through the log', async () => {
    expect(await call(leader, '/kv/colour', { method: 'PUT', body: 'blue' })).toMatchObject({
      status: 200,
      json: { key: 'colour', previous: null },
    });
    expect(await call(leader, '/kv/colour')).toMatchObject({
      status: 200,
      json: { key: 'colour', value: 'blue' },
    });
    const cas = (expect: string | null, value: string | null) =>
      call(leader, '/kv/colour', { method: 'POST', body: JSON.stringify({ expect, value }) });
    expect(await cas('red', 'green')).toMatchObject({ status: 409, json: { current: 'blue' } });
    expect(await cas('blue', 'green')).toMatchObject({
      status: 200,
      json: { swapped: true, value: 'green' },
    });
    expect(await call(leader, '/kv/colour', { method: 'DELETE' })).toMatchObject({
      status: 200,
      json: { deleted: true },
    });
    expect(await call(leader, '/kv/colour')).toMatchObject({ status: 404, json: { error: 'key not found' } });
    expect(await cas(null, 'new')).toMatchObject({ status: 200, json: { swapped: true } });
  });

  it('takes keys with any characters, percent-encoded', async () => {
    const key = 'a/b c?ü';
    const path = `/kv/${encodeURIComponent(key)}`;
    await call(leader, path, { method: 'PUT', body: 'odd' });
    expect(await call(leader, path)).toMatchObject({ status: 200, json: { key, value: 'odd' } });
  });

  it('keeps a value exactly as sent, a leading U+FEFF (byte order mark) included', async () => {
    await call(leader, '/kv/bom', { method: 'PUT', body: '\ufeffvalue' });
    expect(await call(leader, '/kv/bom')).toMatchObject({ status: 200, json: { value: '\ufeffvalue' } });
  });

  it('applies a retried request once, answering it as the first time', async () => {
    const session = { 'X-Client-Id': 'client-1', 'X-Client-Seq': '1' };
    const first = await call(leader, '/kv/counter', { method: 'PUT', body: 'one', headers: session });
    await call(leader, '/kv/counter', { method: 'PUT', body: 'two' });
    const retry = await call(leader, '/kv/counter', { method: 'PUT', body: 'one', headers: session });
    expect(retry.json).toEqual(first.json);
    expect((await call(leader, '/kv/counter')).json.value).toBe('two');
    const put = (seq: string) =>
      call(leader, '/kv/counter', {
        method: 'PUT',
        body: seq,
        headers: { 'X-Client-Id': 'client-1', 'X-Client-Seq': seq },
      });
    expect((await put('3')).status).toBe(200);
    expect(await put('2')).toMatchObject({
      status: 409,
      json: { error: expect.stringMatching(/stale request/) },
    });
    const reused = await call(leader, '/kv/counter', {
      method: 'PUT',
      body: 'not three',
      headers: { 'X-Client-Id': 'client-1', 'X-Client-Seq': '3' },
    });
    expect(reused).toMatchObject({ status: 409, json: { error: expect.stringMatching(/reused seq 3/) } });
    const unknown = await call(leader, '/kv/counter', {
      method: 'PUT',
      body: 'late',
      headers: { 'X-Client-Id': 'never-seen', 'X-Client-Seq': '7' },
    });
    expect(unknown).toMatchObject({
      status: 409,
      json: { error: expect.stringMatching(/unknown or expired session/) },
    });
    expect((await call(leader, '/kv/counter')).json.value).toBe('3');
    expect(await put('0')).toMatchObject({
      status: 400,
      json: { error: expect.stringMatching(/positive integer/) },
    });
  });

  it('redirects a follower’s client to the leader with 307', async () => {
    const response = await call(follower, '/kv/x?y=1', { method: 'PUT', body: 'v' });
    expect(response.status).toBe(307);
    expect(response.headers.get('location')).toBe(cluster.url(leader, '/kv/x?y=1'));
    expect(response.json).toMatchObject({ leader: leader.config.id });
    const followed = await fetch(cluster.url(follower, '/kv/followed'), { method: 'PUT', body: 'yes' });
    expect(followed.status).toBe(200);
    expect((await call(leader, '/kv/followed')).json.value).toBe('yes');
  });

  it('answers bad requests with a 4xx and a JSON error', async () => {
    const cases: [string, RequestInit, number, RegExp][] = [
      ['/nowhere', {}, 404, /no such path/],
      ['/kv/', {}, 400, /key is empty/],
      ['/kv/%E0%A4%A', {}, 400, /percent-encoded/],
      [`/kv/${'k'.repeat(1025)}`, {}, 414, /limit is 1024/],
      ['/kv/k', { method: 'PATCH' }, 405, /not allowed/],
      ['/status', { method: 'DELETE' }, 405, /not allowed/],
      ['/kv/k', { method: 'PUT', body: 'x'.repeat(64 * 1024 + 1) }, 413, /exceeds the limit/],
      ['/kv/k', { method: 'DELETE', body: 'unexpected' }, 413, /takes no body/],
      // Chunked: no length to refuse it by, so the body itself is read and refused.
      [
        '/kv/k',
        { method: 'DELETE', body: chunked('unexpected'), duplex: 'half' } as RequestInit,
        413,
        /takes no body/,
      ],
      // Under a third of the limit in UTF-16 units but over it in UTF-8 bytes: 342 × 3 bytes.
      [`/kv/${encodeURIComponent('€'.repeat(342))}`, {}, 414, /key is 1026 bytes long/],
      ['/kv/k', { method: 'POST', body: '{not json' }, 400, /not valid JSON/],
      ['/kv/k', { method: 'POST', body: '[1]' }, 400, /JSON object/],
      [
        '/kv/k',
        { method: 'POST', body: '{"expect":1,"value":null}' },
        400,
        /"expect" must be a string or null/,
      ],
      ['/kv/k', { method: 'PUT', body: new Uint8Array([0xff, 0xfe]) }, 400, /not valid UTF-8/],
      ['/kv/k', { headers: { 'X-Client-Id': 'c' } }, 400, /go together/],
      ['/kv/k', { headers: { 'X-Client-Id': 'c', 'X-Client-Seq': 'abc' } }, 400, /positive integer/],
    ];
    for (const [path, init, status, error] of cases) {
      const response = await call(leader, path, init);
      expect({ path, status: response.status }).toEqual({ path, status });
      expect(response.json.error).toMatch(error);
    }
    // One byte under the limit: the key is served (a 404: it was never written).
    expect((await call(leader, `/kv/${encodeURIComponent(`${'€'.repeat(341)}x`)}`)).status).toBe(404);
    expect((await call(leader, '/kv/k', { method: 'PATCH' })).headers.get('allow')).toBe(
      'GET, PUT, DELETE, POST',
    );
  });

  it('survives garbage that is not HTTP at all', async () => {
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(leader.config.http.port, '127.0.0.1', () =>
        socket.write('\x00\x01garbage\r\n\r\n'),
      );
      let data = '';
      socket.on('data', (chunk) => {
        data += chunk;
      });
      socket.on('close', () => resolve(data));
      socket.on('error', () => resolve(data));
    });
    expect(reply).toMatch(/^HTTP\/1.1 400/);
    expect((await call(leader, '/status')).status).toBe(200);
  });

  it('reports status as JSON and metrics in the Prometheus format', async () => {
    const status = await call(follower, '/status');
    expect(status.json).toMatchObject({
      id: follower.config.id,
      role: 'follower',
      leader: leader.config.id,
      peers: expect.arrayContaining([expect.objectContaining({ id: leader.config.id })]),
    });
    expect(status.json.appliedIndex).toBeGreaterThan(0);
    const metrics = await call(leader, '/metrics');
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    expect(metrics.text).toContain('pureraft_role{role="leader"} 1');
    expect(metrics.text).toMatch(/pureraft_proposals_total\{result="committed"\} [1-9]/);
    expect(metrics.text).toMatch(/pureraft_storage_syncs_total [1-9]/);
    expect(metrics.text).toMatch(/pureraft_transport_frames_sent_total [1-9]/);
    expect(metrics.text).toMatch(
      /pureraft_http_requests_total\{method="PUT",route="kv",status="200"\} [1-9]/,
    );
  });

  it('serves each replica’s applied data for debugging', async () => {
    await call(leader, '/kv/replicated', { method: 'PUT', body: 'everywhere' });
    const appliedIndex = leader.node.status().appliedIndex;
    const deadline = Date.now() + 2_000;
    while (follower.node.status().appliedIndex < appliedIndex && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    const dump = await call(follower, '/debug/kv');
    expect(dump.json.data.replicated).toBe('everywhere');
    expect(dump.json.appliedIndex).toBeGreaterThanOrEqual(appliedIndex);
  });
});

/** A request body sent in chunks, without a Content-Length. */
function chunked(text: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(text));
      controller.close();
    },
  });
}
