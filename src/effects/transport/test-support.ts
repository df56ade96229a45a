/**
 * What the TCP tests share: nodes on 127.0.0.1 that record what they receive and log, in either mode (a
 * development CA and certificates made once per test file), a raw client for speaking the protocol wrongly on
 * purpose, and bounded waiting. Each test file runs `closeAll` after each test.
 */
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { certificateFiles, makeDevCertificates } from '../../cli/dev-certs.js';
import type { Message } from '../../core/index.js';
import { jsonCodec } from '../binary.js';
import { encodeMessage } from './codec.js';
import { encodeFrame, FrameDecoder } from './framing.js';
import { type ConnectionPurpose, ConnectorHandshake } from './handshake.js';
import { FrameSealer } from './sealing.js';
import { type PeerSecurity, SharedSecret } from './security.js';
import { TcpTransport, type TcpTransportOptions } from './tcp.js';
import { MutualTls, type TlsCredentials } from './tls.js';

export type Command = { readonly op: string; readonly value: number };

export const host = '127.0.0.1';
export const secret = 'correct horse battery staple';
export const encoder = new TextEncoder();
export const codec = jsonCodec<Command>();

/** Everything a test opens, closed after it whatever happened. */
const cleanup: (() => Promise<void> | void)[] = [];

export function closeLater(close: () => Promise<void> | void): void {
  cleanup.push(close);
}

export async function closeAll(): Promise<void> {
  await Promise.all(cleanup.splice(0).map((close) => close()));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every few milliseconds, for at most `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export interface TestNode {
  readonly id: string;
  readonly transport: TcpTransport<Command>;
  readonly inbox: Message<Command>[];
  readonly log: string[];
}

export async function startNode(
  id: string,
  options: Partial<TcpTransportOptions<Command>> = {},
): Promise<TestNode> {
  const log: string[] = [];
  const transport = new TcpTransport<Command>({
    id,
    listen: { host, port: 0 },
    peers: {},
    secret,
    codec,
    handshakeTimeoutMs: 300,
    backoff: { initialMs: 10, maxMs: 100 },
    logger: (line) => log.push(line),
    ...options,
  });
  const inbox: Message<Command>[] = [];
  transport.onMessage((message) => inbox.push(message));
  closeLater(() => transport.stop());
  await transport.start();
  return { id, transport, inbox, log };
}

/** Makes each node a peer of every other. */
export function introduce(...nodes: TestNode[]): void {
  for (const node of nodes) {
    for (const other of nodes) {
      if (other !== node) node.transport.setPeer(other.id, { host, port: other.transport.port });
    }
  }
}

export async function startPair(): Promise<[TestNode, TestNode]> {
  const a = await startNode('a');
  const b = await startNode('b');
  introduce(a, b);
  return [a, b];
}

/** One message of every type from `from` to `to`, but InstallSnapshot (see snapshot-transfer.test.ts). */
export function everyMessageType(from: string, to: string): Message<Command>[] {
  return [
    { type: 'RequestVote', term: 7, from, to, lastLogIndex: 41, lastLogTerm: 6, transfer: true },
    { type: 'RequestVoteResponse', term: 7, from, to, voteGranted: true },
    { type: 'PreVote', term: 8, from, to, lastLogIndex: 41, lastLogTerm: 6 },
    { type: 'PreVoteResponse', term: 8, from, to, voteGranted: false },
    {
      type: 'AppendEntries',
      term: 7,
      from,
      to,
      prevLogIndex: 41,
      prevLogTerm: 6,
      leaderCommit: 40,
      round: 12,
      entries: [
        {
          index: 42,
          term: 6,
          kind: 'config',
          membership: { voters: [from, to], learners: [], outgoing: [from] },
        },
        { index: 43, term: 7, kind: 'noop' },
        { index: 44, term: 7, kind: 'command', command: { op: 'set', value: 3 } },
      ],
    },
    {
      type: 'AppendEntriesResponse',
      term: 7,
      from,
      to,
      success: false,
      index: 41,
      conflictTerm: 5,
      conflictIndex: 30,
      round: 12,
    },
    { type: 'InstallSnapshotResponse', term: 7, from, to, index: 41, round: 13 },
    { type: 'TimeoutNow', term: 7, from, to },
  ];
}

export function vote(from: string, to: string, term = 1): Message<Command> {
  return { type: 'RequestVote', term, from, to, lastLogIndex: 0, lastLogTerm: 0, transfer: false };
}

/** Node ids with certificates from the test CA; `stranger` is the one node the other CA signed. */
export const certifiedIds = ['a', 'b', 'c', 'd', 'mallory'] as const;

export interface TestPki {
  /** Credentials for a node of the cluster's CA. */
  credentials(id: (typeof certifiedIds)[number]): TlsCredentials;
  /** Credentials for node `stranger`, whose certificate another CA signed (with the cluster's CA trusted). */
  readonly stranger: TlsCredentials;
}

let pki: Promise<TestPki> | undefined;

/** The test CAs and certificates, made on first use (a fraction of a second with openssl). */
export function testPki(): Promise<TestPki> {
  pki ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pureraft-pki-'));
    // The files are read into memory and removed at once: a test worker may end without an 'exit' event.
    try {
      await makeDevCertificates({ dir: join(dir, 'cluster'), nodes: certifiedIds, days: 1 });
      await makeDevCertificates({ dir: join(dir, 'other'), nodes: ['stranger'], days: 1 });
      const load = async (files: { cert: string; key: string; ca: string }, ca = files.ca) => ({
        cert: await readFile(files.cert, 'utf8'),
        key: await readFile(files.key, 'utf8'),
        ca: await readFile(ca, 'utf8'),
      });
      const loaded = new Map<string, TlsCredentials>();
      for (const id of certifiedIds) loaded.set(id, await load(certificateFiles(join(dir, 'cluster'), id)));
      const strangerFiles = certificateFiles(join(dir, 'other'), 'stranger');
      const stranger = await load(strangerFiles, join(dir, 'cluster', 'ca.pem'));
      return { credentials: (id) => loaded.get(id)!, stranger };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
  return pki;
}

/** Options that put a test node in the mutual-TLS mode, with its own certificate. */
export async function tlsOptions(
  id: (typeof certifiedIds)[number],
): Promise<Partial<TcpTransportOptions<Command>>> {
  return { secret: undefined, tls: (await testPki()).credentials(id) };
}

/** How a RawClient connects and authenticates: the test secret or another, or TLS with some credentials. */
export type RawCredentials = string | { readonly tls: TlsCredentials; readonly certifiedAs: string };

function securityOf(credentials: RawCredentials): PeerSecurity {
  return typeof credentials === 'string'
    ? new SharedSecret(encoder.encode(credentials))
    : new MutualTls(credentials.certifiedAs, credentials.tls, 1_000);
}

/** A hand-driven client socket, for speaking the protocol wrongly on purpose. */
export class RawClient {
  readonly frames: Uint8Array[] = [];
  closed = false;
  private readonly decoder = new FrameDecoder(1 << 20);
  /** After a shared-secret handshake: what `sendFrame` seals with. */
  private sealer: FrameSealer | undefined;

  private constructor(readonly socket: Socket) {
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk);
      for (let result = this.decoder.next(); result?.kind === 'frame'; result = this.decoder.next()) {
        this.frames.push(result.payload);
      }
    });
  }

  /** A plain TCP connection, or with `security` one as that mode opens it to `peerId`. */
  static async connect(port: number, security?: PeerSecurity, peerId = 'b'): Promise<RawClient> {
    const socket =
      security === undefined ? connect({ host, port }) : security.connect({ host, port }, peerId);
    closeLater(() => {
      socket.destroy();
    });
    await once(socket, security?.mode === 'mutual TLS' ? 'secureConnect' : 'connect');
    return new RawClient(socket);
  }

  /**
   * Connects and runs the handshake as `id` with `credentials`; waits for the acceptor's welcome only when
   * `welcomed` (by default, with the right secret or any certificate).
   */
  static async authenticated(
    port: number,
    id: string,
    peerId: string,
    credentials: RawCredentials = secret,
    purpose: ConnectionPurpose = 'messages',
    welcomed = credentials === secret || typeof credentials !== 'string',
  ): Promise<RawClient> {
    const security = securityOf(credentials);
    const client = await RawClient.connect(port, security, peerId);
    const handshake = new ConnectorHandshake(id, peerId, security.credentials(client.socket), purpose);
    const auth = handshake.receive(await client.nextFrame());
    if (auth.kind !== 'continue') throw new Error(`unexpected hello: ${JSON.stringify(auth)}`);
    client.sendFrame(auth.reply);
    if (!welcomed) return client;
    const welcome = handshake.receive(await client.nextFrame());
    expect(welcome.kind).toBe('authenticated');
    if (welcome.kind === 'authenticated' && welcome.keys !== undefined)
      client.sealer = new FrameSealer(welcome.keys.send);
    return client;
  }

  async nextFrame(): Promise<Uint8Array> {
    await waitFor(() => this.frames.length > 0, 'a frame from the transport');
    return this.frames.shift()!;
  }

  /** Sends a frame, sealed as the handshake keyed it (in the shared-secret mode). */
  sendFrame(payload: Uint8Array): void {
    this.sendUnsealed(this.sealer === undefined ? payload : this.sealer.seal(payload));
  }

  /** Sends a frame as it is: what someone without the connection's keys can do. */
  sendUnsealed(payload: Uint8Array): void {
    this.socket.write(encodeFrame(payload));
  }

  sendMessage(message: Message<Command>): void {
    this.sendFrame(encodeMessage(message, codec));
  }

  async waitClosed(what: string): Promise<void> {
    await waitFor(() => this.closed, what);
  }
}
