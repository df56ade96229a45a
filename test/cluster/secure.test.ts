/**
 * A cluster of real `pureraft node` processes in the secure setup: mutual TLS between the nodes, HTTPS and
 * bearer tokens for clients, with certificates from `pureraft certs`' code. The units test each defence; here
 * the point is that the pieces fit: the nodes elect a leader and replicate over TLS, clients get in only with
 * a token, and a peer that speaks the shared-secret protocol instead of TLS gets nowhere.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDevCertificates } from '../../src/cli/dev-certs.js';
import { NodeProcess } from '../../src/cli/launcher.js';
import { jsonCodec } from '../../src/effects/binary.js';
import { TcpTransport } from '../../src/effects/transport/index.js';
import type { KvEntry, KvNodeConfig } from '../../src/kv/index.js';
import { localClusterConfigs } from '../../src/kv/test-support.js';
import { eventually } from './harness.js';

const ids = ['a', 'b', 'c'];
const writer = 'w'.repeat(32);
const reader = 'r'.repeat(32);
let root: string;
let ca: string;
let configs: KvNodeConfig[];
const nodes: NodeProcess[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pureraft-secure-'));
  const certs = join(root, 'certs');
  await makeDevCertificates({ dir: certs, nodes: ids, days: 1 });
  ca = await readFile(join(certs, 'ca.pem'), 'utf8');
  await writeFile(join(root, 'tokens'), `read-write ${writer}\nread-only ${reader}\n`);
  configs = (await localClusterConfigs(ids, root)).map(({ secret: _none, ...config }) => ({
    ...config,
    tls: {
      cert: join(certs, `${config.id}.pem`),
      key: join(certs, `${config.id}-key.pem`),
      ca: join(certs, 'ca.pem'),
    },
    tokensFile: join(root, 'tokens'),
    openStatus: true,
  }));
  nodes.push(...configs.map((config) => new NodeProcess(config)));
  await Promise.all(nodes.map((node) => node.serving()));
});

afterAll(async () => {
  await Promise.all(nodes.map((node) => node.kill('SIGKILL')));
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

interface Answer {
  readonly status: number;
  readonly json: Record<string, unknown>;
  readonly location?: string;
}

/** One HTTPS request to node `id`, trusting the cluster's CA. */
function call(id: string, method: string, path: string, token?: string, body?: string): Promise<Answer> {
  const { port } = configs.find((config) => config.id === id)!.http;
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        ca,
        headers: token ? { Authorization: `Bearer ${token}` } : {},
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        response.on('end', () =>
          resolve({
            status: response.statusCode!,
            json: response.headers['content-type'] === 'application/json' ? JSON.parse(text) : {},
            ...(response.headers.location !== undefined && { location: response.headers.location }),
          }),
        );
      },
    );
    outgoing.setTimeout(2_000, () => outgoing.destroy(new Error('no answer within 2 s')));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

async function leader(): Promise<string> {
  return eventually('a leader every node knows', 15_000, async () => {
    const reports = await Promise.all(ids.map((id) => call(id, 'GET', '/status')));
    const leaders = new Set(reports.map((report) => report.json.leader));
    const [only] = leaders;
    return leaders.size === 1 && typeof only === 'string' ? only : undefined;
  });
}

describe('a cluster with mutual TLS, HTTPS and tokens', () => {
  it('elects a leader and replicates, to clients with a token only', async () => {
    const lead = await leader();
    const follower = ids.find((id) => id !== lead)!;
    expect(await call(lead, 'PUT', '/kv/secure', writer, 'yes')).toMatchObject({ status: 200 });
    // A follower serves a linearizable read: it asks the leader for a read index as a member (its certificate).
    // (503 means retry: on a loaded machine the first TLS handshake between the two may take a while.)
    const read = await eventually('a linearizable read on a follower', 10_000, async () => {
      const answer = await call(follower, 'GET', '/kv/secure', reader);
      return answer.status === 503 ? undefined : answer;
    });
    expect(read).toMatchObject({ status: 200, json: { value: 'yes' } });
    // Writes are redirected to the leader, over HTTPS.
    const redirect = await call(follower, 'PUT', '/kv/secure', writer, 'again');
    expect(redirect).toMatchObject({
      status: 307,
      location: expect.stringMatching(/^https:\/\/127\.0\.0\.1:/),
    });
    // The internal read index takes a member's certificate or a client's token, nothing less.
    expect((await call(lead, 'GET', '/internal/read-index')).status).toBe(401);
    expect((await call(lead, 'GET', '/internal/read-index', reader)).status).toBe(200);
    expect(await call(lead, 'GET', '/kv/secure', reader)).toMatchObject({
      status: 200,
      json: { value: 'yes' },
    });
    expect((await call(lead, 'PUT', '/kv/secure', reader, 'no')).status).toBe(403);
    expect((await call(lead, 'GET', '/kv/secure')).status).toBe(401);
    expect((await call(lead, 'GET', '/debug/kv')).status).toBe(401);
  });

  it('gets nowhere with a peer that speaks the shared-secret protocol instead of TLS', async () => {
    const lead = await leader();
    const { term } = (await call(lead, 'GET', '/status')).json as { term: number };
    const impostorId = ids.find((id) => id !== lead)!;
    const impostor = new TcpTransport<KvEntry>({
      id: impostorId,
      listen: { host: '127.0.0.1', port: 0 },
      peers: { [lead]: configs.find((config) => config.id === lead)!.raft },
      secret: 'any secret',
      codec: jsonCodec(),
      // Longer than the node's: it waits for our hello as we wait for its, and it gives up first.
      handshakeTimeoutMs: 5_000,
    });
    await impostor.start();
    try {
      impostor.send({
        type: 'RequestVote',
        term: term + 100,
        from: impostorId,
        to: lead,
        lastLogIndex: 1e6,
        lastLogTerm: term + 99,
        transfer: false,
      });
      await eventually('the leader to count the refusal', 8_000, async () => {
        const metrics = await new Promise<string>((resolve, reject) => {
          const { port } = configs.find((config) => config.id === lead)!.http;
          request({ host: '127.0.0.1', port, path: '/metrics', ca }, (response) => {
            let text = '';
            response.on('data', (chunk: Buffer) => {
              text += chunk.toString();
            });
            response.on('end', () => resolve(text));
          })
            .on('error', reject)
            .end();
        });
        const counter = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
        const refused =
          counter('pureraft_transport_auth_failures_total') +
          counter('pureraft_transport_handshake_timeouts_total');
        return refused > 0 ? true : undefined;
      });
    } finally {
      await impostor.stop();
    }
    expect(((await call(lead, 'GET', '/status')).json as { term: number }).term).toBe(term);
  });
});
