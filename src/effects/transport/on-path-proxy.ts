/**
 * For tests: an attacker on the network path between a connector and an acceptor, on 127.0.0.1. It forwards
 * both ways, cutting the connector's bytes into units (our frames, or TLS records) so that it can, once armed,
 * replay, reorder, drop, modify one unit or inject one of its own; and it records every connection's units so
 * that a test can replay a whole connection to the acceptor. It never knows a key.
 */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

/** The length of the first complete unit at the start of `buffer`, or undefined until it is all there. */
export type Splitter = (buffer: Buffer) => number | undefined;

/** Our length-prefixed frames (framing.ts). */
export const frames: Splitter = (buffer) => {
  if (buffer.length < 4) return undefined;
  const length = 4 + buffer.readUInt32BE(0);
  return buffer.length >= length ? length : undefined;
};

/** TLS records: type, version, u16 length. */
export const tlsRecords: Splitter = (buffer) => {
  if (buffer.length < 5) return undefined;
  const length = 5 + buffer.readUInt16BE(3);
  return buffer.length >= length ? length : undefined;
};

export type Attack =
  /** The unit is forwarded twice. */
  | { readonly kind: 'replay' }
  /** The unit is held back and forwarded after the next one. */
  | { readonly kind: 'reorder' }
  /** The unit is never forwarded; the ones after it are. */
  | { readonly kind: 'drop' }
  /** One bit of the unit's body (past its header) is flipped. */
  | { readonly kind: 'modify' }
  /** `unit` is forwarded before the next unit. */
  | { readonly kind: 'inject'; readonly unit: Uint8Array };

interface Armed {
  readonly attack: Attack;
  /** Only units at least this long are attacked: a snapshot chunk, say, rather than the handshake before it. */
  readonly minBytes: number;
}

export class OnPathProxy {
  /** The units the connector sent on each connection, in order: material for replays. */
  readonly transcripts: Buffer[][] = [];
  /** Attacks carried out. */
  readonly done: Attack[] = [];
  private armed: Armed | undefined;
  private held: { readonly unit: Buffer; readonly to: Socket } | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly split: Splitter,
    private readonly target: number,
  ) {}

  /** A proxy to the acceptor on `targetPort`. */
  static async start(targetPort: number, split: Splitter): Promise<OnPathProxy> {
    const server = createServer();
    const proxy = new OnPathProxy(server, split, targetPort);
    server.on('connection', (socket) => proxy.relay(socket));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** Carries out `attack` on the next unit the connector sends (of at least `minBytes`), on any connection. */
  arm(attack: Attack, minBytes = 0): void {
    this.armed = { attack, minBytes };
  }

  /** Opens a connection of its own to the acceptor and sends it `units`; resolves when the acceptor closes it. */
  async replayConnection(units: readonly Buffer[]): Promise<void> {
    const socket = connect({ host: '127.0.0.1', port: this.target });
    this.sockets.add(socket);
    socket.on('error', () => {});
    socket.on('data', () => {});
    await once(socket, 'connect');
    for (const unit of units) socket.write(unit);
    await once(socket, 'close');
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private relay(client: Socket): void {
    const upstream = connect({ host: '127.0.0.1', port: this.target });
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const transcript: Buffer[] = [];
    this.transcripts.push(transcript);
    let pending = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (let length = this.split(pending); length !== undefined; length = this.split(pending)) {
        const unit = Buffer.from(pending.subarray(0, length));
        pending = pending.subarray(length);
        transcript.push(unit);
        this.forward(unit, upstream);
      }
    });
  }

  private forward(unit: Buffer, to: Socket): void {
    const held = this.held;
    this.held = undefined;
    const armed = this.armed;
    if (armed === undefined || unit.length < armed.minBytes) {
      to.write(unit);
      if (held !== undefined) held.to.write(held.unit);
      return;
    }
    this.armed = undefined;
    this.done.push(armed.attack);
    switch (armed.attack.kind) {
      case 'replay':
        to.write(unit);
        to.write(unit);
        return;
      case 'reorder':
        this.held = { unit, to };
        return;
      case 'drop':
        return;
      case 'modify': {
        const changed = Buffer.from(unit);
        const at = 5 + Math.floor((changed.length - 5) / 2);
        changed[at]! ^= 0x10;
        to.write(changed);
        return;
      }
      case 'inject':
        to.write(armed.attack.unit);
        to.write(unit);
        return;
    }
  }
}
