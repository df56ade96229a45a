/** The admin client follows a follower's redirect to the leader and keeps the bearer token on the way. */
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../kv/free-ports.js';
import { InProcessCluster } from '../kv/test-support.js';
import { adminCall, adminCallAny, baseUrl, failure, nodesFlag, whyUnreachable } from './admin-client.js';
import { UsageError } from './flags.js';

const token = 'w'.repeat(32);
let cluster: InProcessCluster;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pureraft-admin-'));
  const tokensFile = join(dir, 'tokens');
  await writeFile(tokensFile, `read-write ${token}\n`);
  cluster = await InProcessCluster.start(['a', 'b', 'c'], () => ({ tokensFile }));
  await cluster.leader();
});
afterAll(async () => {
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('adminCall', () => {
  it('follows a follower’s redirect to the leader with the token', async () => {
    const { leader, followers } = await cluster.roles();
    const node = `127.0.0.1:${followers[0]!.config.http.port}`;
    const answer = await adminCall(node, { method: 'GET', path: '/cluster', token, timeoutMs: 5_000 });
    expect(answer.status).toBe(200);
    expect(answer.body.leader).toBe(leader.config.id);
    const refused = await adminCall(node, { method: 'GET', path: '/cluster', timeoutMs: 5_000 });
    expect(failure(refused)).toMatch(/^\(401\) this API needs a bearer token/);
  });

  it('says to use https:// when a node closes a plain HTTP request without an answer, as an HTTPS node does', async () => {
    const server = createServer((socket) => socket.once('data', () => socket.destroy()));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as { port: number };
      await expect(
        adminCall(`127.0.0.1:${port}`, { method: 'GET', path: '/cluster', timeoutMs: 5_000 }),
      ).rejects.toThrow(
        /other side closed \(a node that serves HTTPS .* give --node as https:\/\/host:port\)/,
      );
    } finally {
      server.close();
    }
  });

  it('asks the nodes in turn, skipping one that cannot be reached, and names each when none can', async () => {
    const [nobody, nobodyElse] = await freePorts(2);
    const { leader, followers } = await cluster.roles();
    const call = { method: 'GET', path: '/cluster', token, timeoutMs: 5_000 } as const;
    const answer = await adminCallAny(
      [`127.0.0.1:${nobody}`, `127.0.0.1:${followers[0]!.config.http.port}`],
      call,
    );
    expect(answer.body.leader).toBe(leader.config.id);
    // An answer is the answer, an error status too: the next node is not asked.
    const refused = await adminCallAny([`127.0.0.1:${leader.config.http.port}`, `127.0.0.1:${nobody}`], {
      ...call,
      token: undefined,
    });
    expect(refused.status).toBe(401);
    await expect(adminCallAny([`127.0.0.1:${nobody}`, `127.0.0.1:${nobodyElse}`], call)).rejects.toThrow(
      new RegExp(
        `cannot reach http://127.0.0.1:${nobody}/cluster: connect ECONNREFUSED .*; cannot reach http://127.0.0.1:${nobodyElse}/cluster`,
      ),
    );
  });

  it('never asks a second node once a connection was made: the first may have taken the request', async () => {
    // The first node takes the connection and drops it on the request's bytes; the second counts connections.
    const dropping = await listen(createServer((socket) => socket.once('data', () => socket.destroy())));
    let connections = 0;
    const counting = await listen(
      createServer((socket) => {
        connections++;
        socket.destroy();
      }),
    );
    const nodes = [dropping, counting].map((server) => `127.0.0.1:${port(server)}`);
    await expect(
      adminCallAny(nodes, { method: 'POST', path: '/admin/transfer-leadership', token, timeoutMs: 5_000 }),
    ).rejects.toThrow(`cannot reach http://${nodes[0]}/admin/transfer-leadership`);
    expect(connections).toBe(0);
    dropping.close();
    counting.close();
  });

  it('says that a request left without an answer in time may have been carried out, not that the node is unreachable', async () => {
    // Takes the request and never answers: a membership change under way, say.
    const silent = await listen(createServer((socket) => socket.resume()));
    const node = `127.0.0.1:${port(silent)}`;
    await expect(
      adminCall(node, { method: 'POST', path: '/cluster/promote', timeoutMs: 300 }),
    ).rejects.toThrow(/no answer from .* within 300 ms: the request may still have been carried out/);
    silent.close();
  });

  it('says why a node cannot be reached when the error has no message of its own', () => {
    // A host name with two addresses, both refusing: Node's AggregateError has an empty message.
    const refused = (address: string) =>
      Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' });
    const both = Object.assign(new AggregateError([refused('::1:8001'), refused('127.0.0.1:8001')], ''), {
      code: 'ECONNREFUSED',
    });
    expect(whyUnreachable(new TypeError('fetch failed', { cause: both }))).toBe(
      'connect ECONNREFUSED ::1:8001, connect ECONNREFUSED 127.0.0.1:8001',
    );
    const bare = Object.assign(new Error(''), { code: 'ECONNRESET' });
    expect(whyUnreachable(new TypeError('fetch failed', { cause: bare }))).toBe('ECONNRESET');
    expect(whyUnreachable(new TypeError('fetch failed'))).toBe('fetch failed');
  });

  it('takes host:port or a URL', () => {
    expect(baseUrl('127.0.0.1:8001')).toBe('http://127.0.0.1:8001');
    expect(baseUrl('https://n1.example:8001/')).toBe('https://n1.example:8001');
    expect(nodesFlag('127.0.0.1:8001, https://n2.example:8002', 'usage')).toEqual([
      '127.0.0.1:8001',
      'https://n2.example:8002',
    ]);
    // A bad entry is a usage error when the flags are read, not a failed request later.
    for (const bad of ['https://', 'http://:8001', '127.0.0.1', '127.0.0.1:8001,']) {
      expect(() => nodesFlag(bad, 'usage'), bad).toThrow(UsageError);
    }
  });
});

async function listen(server: Server): Promise<Server> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

function port(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening on a port');
  return address.port;
}
