/**
 * What the TCP tests share: nodes on 127.0.0.1 that record what they receive and log, a raw client for
 * speaking the protocol wrongly on purpose, and bounded waiting. Each test file runs `closeAll` after each test.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { expect } from 'vitest';
import type { Message } from '../../core/index.js';
import { jsonCodec } from '../binary.js';
import { encodeMessage } from './codec.js';
import { encodeFrame, FrameDecoder } from './framing.js';
import { type ConnectionPurpose, ConnectorHandshake } from './handshake.js';
import { TcpTransport, type TcpTransportOptions } from './tcp.js';

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

export function vote(from: string, to: string, term = 1): Message<Command> {
  return { type: 'RequestVote', term, from, to, lastLogIndex: 0, lastLogTerm: 0, transfer: false };
}

/** A hand-driven client socket, for speaking the protocol wrongly on purpose. */
export class RawClient {
  readonly frames: Uint8Array[] = [];
  closed = false;
  private readonly decoder = new FrameDecoder(1 << 20);

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

  static async connect(port: number): Promise<RawClient> {
    const socket = connect({ host, port });
    closeLater(() => {
      socket.destroy();
    });
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  /** Connects and completes the handshake as `id`, holding `withSecret`. */
  static async authenticated(
    port: number,
    id: string,
    peerId: string,
    withSecret = secret,
    purpose: ConnectionPurpose = 'messages',
  ): Promise<RawClient> {
    const client = await RawClient.connect(port);
    const handshake = new ConnectorHandshake(id, peerId, encoder.encode(withSecret), purpose);
    const auth = handshake.receive(await client.nextFrame());
    if (auth.kind !== 'continue') throw new Error(`unexpected hello: ${JSON.stringify(auth)}`);
    client.sendFrame(auth.reply);
    if (withSecret === secret) expect(handshake.receive(await client.nextFrame()).kind).toBe('authenticated');
    return client;
  }

  async nextFrame(): Promise<Uint8Array> {
    await waitFor(() => this.frames.length > 0, 'a frame from the transport');
    return this.frames.shift()!;
  }

  sendFrame(payload: Uint8Array): void {
    this.socket.write(encodeFrame(payload));
  }

  sendMessage(message: Message<Command>): void {
    this.sendFrame(encodeMessage(message, codec));
  }

  async waitClosed(what: string): Promise<void> {
    await waitFor(() => this.closed, what);
  }
}
