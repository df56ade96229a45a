/**
 * The HTTP API's defences, on a server alone (no cluster behind it): bearer tokens and roles, HTTPS, and the
 * requests that used to slip past the JSON errors (an unknown method, a client that leaves mid-body).
 */

import { readFile, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { certificateFiles, makeDevCertificates } from '../cli/dev-certs.js';
import { NodeStoppedError, NotLeaderError, ProposalOutcomeUnknownError } from '../runtime/node/index.js';
import { type ApiAuth, ApiTokens } from './api-auth.js';
import type { KvCommand, KvResult } from './commands.js';
import { FakeClusterApi } from './fake-cluster-api.js';
import { type KvHttpOptions, KvHttpServer } from './http.js';
import { MEMBER_HEADER, MemberCredential, PROOF_HEADER } from './member-credential.js';
import { fetchReadIndex, LeaderUnreachableError } from './read-forwarding.js';

const writer = 'w'.repeat(32);
const reader = 'r'.repeat(32);
const secret = 'the cluster secret';
const tokens = ApiTokens.parse(`# test\nread-write ${writer}\n\nread-only ${reader}\n`, 'tokens');

const servers: KvHttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** A server whose "cluster" answers every command at once, or redirects to `leader` if one is named. */
async function serve(options: Partial<KvHttpOptions> = {}, leader?: string): Promise<KvHttpServer> {
  const server = new KvHttpServer({
    propose: async (command: KvCommand): Promise<KvResult> => {
      if (leader !== undefined) throw new NotLeaderError(leader);
      return command.op === 'get' ? { op: 'get', value: 'v' } : { op: 'put', previous: null };
    },
    read: async () => {
      if (leader !== undefined) throw new NotLeaderError(leader);
      return 'v';
    },
    readIndex: async () => 1,
    transferLeadership: async () => undefined,
    cluster: new FakeClusterApi(leader),
    httpAddressOf: (id) => (id === leader ? '127.0.0.1:1' : undefined),
    status: () => ({ role: 'leader' }),
    debugKv: () => ({}),
    metrics: () => 'pureraft_term 1\n',
    ...options,
  });
  servers.push(server);
  await server.listen('127.0.0.1', 0);
  return server;
}

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly json: unknown;
}

async function call(
  server: KvHttpServer,
  method: string,
  path: string,
  {
    token,
    body,
    ca,
    headers = {},
  }: { token?: string; body?: string; ca?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const request = ca === undefined ? httpRequest : httpsRequest;
  const scheme = ca === undefined ? 'http' : 'https';
  return new Promise((resolve, reject) => {
    const outgoing = request(
      `${scheme}://127.0.0.1:${server.port}${path}`,
      {
        method,
        ca,
        headers: token === undefined ? headers : { ...headers, Authorization: `Bearer ${token}` },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        response.on('end', () => {
          const json = response.headers['content-type'] === 'application/json' ? JSON.parse(text) : text;
          resolve({ status: response.statusCode!, headers: response.headers, json });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

describe('API tokens', () => {
  const auth: ApiAuth = { tokens };

  it('let another member ask for the internal read index with the cluster’s credential, and no one else without a token', async () => {
    const server = await serve({ auth, member: MemberCredential.ofSecret('n1', secret) });
    const follower = MemberCredential.ofSecret('n2', secret);
    expect(await fetchReadIndex('n1', `127.0.0.1:${server.port}`, 2_000, follower)).toBe(1);
    const path = '/internal/read-index';
    const forged = MemberCredential.ofSecret('n2', 'another secret').ask('n1').headers;
    const [nonce] = follower.ask('n1').headers[MEMBER_HEADER]!.split('.');
    for (const headers of [
      {},
      forged,
      { [MEMBER_HEADER]: 'zz' },
      { [MEMBER_HEADER]: `${nonce}.${'0'.repeat(64)}` },
    ]) {
      expect((await call(server, 'GET', path, { headers })).status).toBe(401);
    }
    // The member's header opens nothing else.
    expect((await call(server, 'GET', '/kv/k', { headers: follower.ask('n1').headers })).status).toBe(401);
    expect((await call(server, 'GET', path, { token: reader })).status).toBe(200);
  });

  it('let a follower take a read index only from the leader it asked, holding the secret, for this request', async () => {
    const follower = MemberCredential.ofSecret('n2', secret);
    const ask = (server: { port: number }) =>
      fetchReadIndex('n1', `127.0.0.1:${server.port}`, 2_000, follower);
    // Not holding the secret: an answer without proof, or with a proof under another key.
    for (const impostor of [undefined, MemberCredential.ofSecret('n1', 'another secret')]) {
      const server = await serve(impostor === undefined ? {} : { member: impostor });
      await expect(ask(server)).rejects.toThrow(LeaderUnreachableError);
    }
    // Holding it, but another node: the proof names the node that answered.
    await expect(ask(await serve({ member: MemberCredential.ofSecret('n3', secret) }))).rejects.toThrow(
      'did not prove it came from a member',
    );
    // An answer recorded from the leader, played back to another request.
    const leader = await serve({ member: MemberCredential.ofSecret('n1', secret) });
    const recorded = await call(leader, 'GET', '/internal/read-index', {
      headers: follower.ask('n1').headers,
    });
    expect(recorded.headers[PROOF_HEADER]).toMatch(/^[0-9a-f]{64}$/);
    const replay = createServer((_request, response) => {
      response.writeHead(200, {
        'Content-Type': 'application/json',
        [PROOF_HEADER]: recorded.headers[PROOF_HEADER],
      });
      response.end('{"index":1}');
    });
    await new Promise<void>((resolve) => replay.listen(0, '127.0.0.1', resolve));
    try {
      await expect(ask(replay.address() as { port: number })).rejects.toThrow(LeaderUnreachableError);
    } finally {
      replay.close();
    }
  });

  it('guard the membership routes like the other admin routes: a read-only token may only look', async () => {
    const cluster = new FakeClusterApi();
    const server = await serve({ auth, cluster });
    const learner = '{"id":"n4","raft":"127.0.0.1:7004","http":"127.0.0.1:8004"}';
    const changes: [string, string, string | undefined][] = [
      ['POST', '/cluster/learners', learner],
      ['POST', '/cluster/promote', '{"id":"n4"}'],
      ['DELETE', '/cluster/members/n4', undefined],
    ];
    expect((await call(server, 'GET', '/cluster')).status).toBe(401);
    expect((await call(server, 'GET', '/cluster', { token: reader })).status).toBe(200);
    for (const [method, path, body] of changes) {
      const options = body === undefined ? {} : { body };
      expect((await call(server, method, path, options)).status).toBe(401);
      expect((await call(server, method, path, { ...options, token: reader })).status).toBe(403);
      expect((await call(server, method, path, { ...options, token: writer })).status).toBe(200);
    }
    expect(cluster.calls).toEqual([
      'view',
      'add n4 127.0.0.1:7004 127.0.0.1:8004',
      'promote n4',
      'remove n4',
    ]);
  });

  it('redirect membership requests on a follower to the leader', async () => {
    const server = await serve({ cluster: new FakeClusterApi('n1') }, 'n1');
    const answer = await call(server, 'POST', '/cluster/promote', { body: '{"id":"n4"}' });
    expect(answer).toMatchObject({
      status: 307,
      headers: { location: 'http://127.0.0.1:1/cluster/promote' },
    });
  });

  it('refuse a request without a token, or with one it does not know', async () => {
    const server = await serve({ auth });
    for (const token of [undefined, 'x'.repeat(32)]) {
      const answer = await call(server, 'GET', '/kv/k', { ...(token !== undefined && { token }) });
      expect(answer).toMatchObject({ status: 401, json: { error: expect.stringMatching(/bearer token/) } });
      expect(answer.headers['www-authenticate']).toBe('Bearer realm="pureraft"');
    }
    expect((await call(server, 'GET', '/status')).status).toBe(401);
    expect((await call(server, 'GET', '/debug/kv')).status).toBe(401);
  });

  it('let a read-only token read, and only a read-write one write', async () => {
    const server = await serve({ auth });
    expect(await call(server, 'GET', '/kv/k', { token: reader })).toMatchObject({ status: 200 });
    expect(await call(server, 'GET', '/metrics', { token: reader })).toMatchObject({ status: 200 });
    for (const method of ['PUT', 'DELETE', 'POST']) {
      const body = method === 'POST' ? '{"expect":null,"value":"x"}' : undefined;
      expect(await call(server, method, '/kv/k', { token: reader, ...(body && { body }) })).toMatchObject({
        status: 403,
        json: { error: 'this token is read-only: it cannot write' },
      });
      expect((await call(server, method, '/kv/k', { token: writer, ...(body && { body }) })).status).toBe(
        200,
      );
    }
  });

  it('leave /status and /metrics open when asked, and nothing else', async () => {
    const server = await serve({ auth: { tokens, openStatus: true } });
    expect((await call(server, 'GET', '/status')).status).toBe(200);
    expect((await call(server, 'GET', '/metrics')).status).toBe(200);
    expect((await call(server, 'GET', '/debug/kv')).status).toBe(401);
    expect((await call(server, 'GET', '/kv/k')).status).toBe(401);
  });

  it('come from a file whose mistakes are named by line', () => {
    const cases: [string, RegExp][] = [
      ['admin abcdefghijklmnopqrstuvwxyz', /t:1: expected "<read-only\|read-write> <token>"/],
      ['read-only short', /t:1: a token must be 16 or more printable characters/],
      [`read-only ${reader}\nread-write ${reader}`, /t:2: this token is listed twice/],
      [`read-only ${reader} extra`, /t:1: expected/],
      ['# nothing\n', /t: no tokens/],
    ];
    for (const [text, error] of cases) expect(() => ApiTokens.parse(text, 't')).toThrow(error);
    expect(tokens.roleOf(`bearer ${writer}`)).toBe('read-write');
    expect(tokens.roleOf(`Basic ${writer}`)).toBeUndefined();
  });
});

describe('a write the node could not see through', () => {
  it('is a 503 (retry) when it never went into the log, a 504 (may or may not be applied) when it did', async () => {
    const stopped = new NodeStoppedError('node n1 stopped');
    const failures: Record<string, Error> = {
      before: stopped,
      after: new ProposalOutcomeUnknownError(
        7,
        `the node stopped (${stopped.message}) after the proposal went into its log`,
        {
          cause: stopped,
        },
      ),
      restored: new ProposalOutcomeUnknownError(7),
    };
    const server = await serve({
      propose: async (command) => {
        throw failures[command.key];
      },
    });
    expect(await call(server, 'PUT', '/kv/before', { body: 'v' })).toMatchObject({
      status: 503,
      headers: { 'retry-after': '1' },
    });
    for (const key of ['after', 'restored']) {
      const answer = await call(server, 'PUT', `/kv/${key}`, { body: 'v' });
      expect(answer.status, key).toBe(504);
      expect(answer.json, key).toMatchObject({
        error: expect.stringMatching(/may or may not have been applied/),
      });
    }
  });
});

describe('HTTPS', () => {
  let tls: { cert: string; key: string; ca: string };
  let n2: typeof tls;

  beforeAll(async () => {
    const dir = join(tmpdir(), `pureraft-https-${process.pid}-${Date.now()}`);
    await makeDevCertificates({ dir, nodes: ['n1', 'n2'], days: 1 });
    const load = async (id: string) => {
      const files = certificateFiles(dir, id);
      const [cert, key, ca] = await Promise.all(
        [files.cert, files.key, files.ca].map((f) => readFile(f, 'utf8')),
      );
      return { cert: cert!, key: key!, ca: ca! };
    };
    tls = await load('n1');
    n2 = await load('n2');
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the API, with tokens, and redirects to https', async () => {
    const server = await serve({ tls, auth: { tokens } }, 'n2');
    expect(await call(server, 'GET', '/status', { token: reader, ca: tls.ca })).toMatchObject({
      status: 200,
      json: { role: 'leader' },
    });
    const redirect = await call(server, 'PUT', '/kv/k', { token: writer, body: 'v', ca: tls.ca });
    expect(redirect).toMatchObject({ status: 307, headers: { location: 'https://127.0.0.1:1/kv/k' } });
    // Plain HTTP to the HTTPS port gets nowhere, and the server goes on.
    await expect(call(server, 'GET', '/status')).rejects.toThrow();
    expect((await call(server, 'GET', '/status', { token: reader, ca: tls.ca })).status).toBe(200);
  });

  it('take a member certificate for the internal read index, even on a resumed session, and no resumed session without one', async () => {
    const server = await serve({
      tls,
      auth: { tokens },
      member: MemberCredential.ofTls('n1', tls, () => true),
    });
    /** Two connections in a row, the second resuming the first's TLS session: the statuses of both. */
    const twice = async (certificate: { cert?: string; key?: string }): Promise<[number, boolean][]> => {
      let session: Buffer | undefined;
      const answers: [number, boolean][] = [];
      for (let round = 0; round < 2; round++) {
        answers.push(
          await new Promise((resolve, reject) => {
            const outgoing = httpsRequest(
              {
                host: '127.0.0.1',
                port: server.port,
                path: '/internal/read-index',
                ca: tls.ca,
                agent: false,
                ...certificate,
                ...(session !== undefined && { session }),
              },
              (response) => {
                response.resume();
                const socket = response.socket as TLSSocket;
                response.on('end', () => resolve([response.statusCode!, socket.isSessionReused()]));
              },
            );
            outgoing.on('socket', (socket) =>
              socket.on('session', (ticket: Buffer) => {
                session = ticket;
              }),
            );
            outgoing.on('error', reject);
            outgoing.end();
          }),
        );
      }
      return answers;
    };
    // Node counts a resumed TLS 1.3 session as authorized even when it carried no certificate: a client that
    // connected once without one got the member's way in the second time.
    expect(await twice({})).toEqual([
      [401, false],
      [401, true],
    ]);
    expect(await twice({ cert: tls.cert, key: tls.key })).toEqual([
      [200, false],
      [200, true],
    ]);
  });

  it('take the certificate of a current member only, and give a follower the read index of the leader it asked only', async () => {
    let members = ['n2'];
    const member = MemberCredential.ofTls('n1', tls, (id) => members.includes(id));
    const server = await serve({ tls, auth: { tokens }, member });
    const follower = MemberCredential.ofTls('n2', n2, () => true);
    const address = `127.0.0.1:${server.port}`;
    expect(await fetchReadIndex('n1', address, 2_000, follower)).toBe(1);
    // The server's certificate names n1: asked as the leader n2 (say, an old address of n2's), it is refused.
    await expect(fetchReadIndex('n2', address, 2_000, follower)).rejects.toThrow(
      'the certificate at the address of the leader n2 names "n1"',
    );
    // n2 removed: its certificate, still signed by the CA, is a member's no more.
    members = [];
    await expect(fetchReadIndex('n1', address, 2_000, follower)).rejects.toThrow('it answered 401');
  });
});

describe('requests that used to get no JSON or too much log', () => {
  /** Writes `bytes` to the server and returns everything it answers until it closes the connection. */
  async function raw(server: KvHttpServer, bytes: string, closeAfterWrite = false): Promise<string> {
    return new Promise((resolve, reject) => {
      let answer = '';
      const socket = connect(server.port, '127.0.0.1', () => {
        socket.write(bytes);
        if (closeAfterWrite) socket.destroy();
      });
      socket.on('data', (chunk: Buffer) => {
        answer += chunk.toString();
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(answer));
      socket.setTimeout(5_000, () => reject(new Error('no answer within 5 s')));
    });
  }

  it('answer 500, and live on, when an answer cannot be sent (a header node:http refuses)', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const server = await serve({ httpAddressOf: () => 'x\r\nSet-Cookie: a=b:8004' }, 'n2');
      expect(await call(server, 'PUT', '/kv/k', { body: 'v' })).toMatchObject({
        status: 500,
        json: { error: 'the answer could not be sent' },
      });
      expect((await call(server, 'GET', '/status')).status).toBe(200);
      expect(errors).toHaveBeenCalledWith(expect.stringContaining('cannot send the answer'));
    } finally {
      errors.mockRestore();
    }
  });

  it('answer an unknown method with a JSON error', async () => {
    const server = await serve();
    const answer = await raw(server, 'BREW /kv/coffee HTTP/1.1\r\nHost: pot\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 501 Not Implemented\r\n/);
    expect(answer).toMatch(/Content-Type: application\/json/);
    expect(JSON.parse(answer.split('\r\n\r\n')[1]!)).toEqual({
      error: 'unknown method: use GET, PUT, POST or DELETE',
    });
    expect(await raw(server, 'GET /\x01 HTTP/1.1\r\n\r\n')).toMatch(
      /^HTTP\/1\.1 400 Bad Request[\s\S]*"error"/,
    );
  });

  it('log one line, and no stack, for a client that leaves mid-body', async () => {
    const log: string[] = [];
    const server = await serve({ log: (line) => log.push(line) });
    await raw(server, 'PUT /kv/k HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part', true);
    const deadline = Date.now() + 2_000;
    while (log.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(log).toEqual(['HTTP PUT /kv/k: the client went away before its request body was complete']);
  });
});
