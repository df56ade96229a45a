/**
 * Raft messages over TCP. Each node dials each peer it sends to (one outgoing connection per peer, see
 * PeerLink) and accepts the connections its peers dial (see InboundConnection), so a pair of nodes talks over
 * two connections, one per direction. A snapshot travels on a connection of its own, in chunks from and to a
 * `SnapshotStore` (snapshot-send.ts, snapshot-receive.ts). Every connection is authenticated before it
 * carries anything, in one of two modes (security.ts): the cluster's shared secret, with every later frame
 * sealed, or mutual TLS, with each node's id bound to its certificate. Either way only members (the peers the
 * transport has an address for) are taken. The transport is a boundary: nothing a peer sends can throw out of
 * it, and it never holds more than a bounded amount of anyone's data.
 */
import type { Server, Socket } from 'node:net';
import type { Message, NodeId } from '../../core/index.js';
import type { CommandCodec } from '../binary.js';
import type { SnapshotStore } from '../snapshot-data.js';
import { type BackoffBounds, DEFAULT_BACKOFF } from './backoff.js';
import { checkNodeId, describeError, encodeMessage, type MessageLimits } from './codec.js';
import type { ConnectionContext } from './connection.js';
import type { PeerAddress } from './dial.js';
import { MAX_U32 } from './framing.js';
import { InboundConnection } from './inbound.js';
import { PeerLink } from './peer-link.js';
import { type PeerSecurity, SharedSecret } from './security.js';
import { SnapshotSender } from './snapshot-send.js';
import { type Counters, type TransportStats, zeroCounters } from './stats.js';
import { MutualTls, remoteOf, type TlsCredentials } from './tls.js';
import type { Transport } from './transport.js';

export type { PeerAddress } from './dial.js';
export type { TransportStats } from './stats.js';
export type { TlsCredentials } from './tls.js';

export interface TcpTransportOptions<C> {
  /** This node's id: what it proves in handshakes and the `to` of every message it accepts. */
  readonly id: NodeId;
  /** Where to listen; port 0 picks a free port, readable from `port` once started. */
  readonly listen: PeerAddress;
  /**
   * Where the other nodes listen. An entry for `id` itself is ignored. These are the members: connections
   * from anyone else are refused. See also `setPeer` and `removePeer`.
   */
  readonly peers: Readonly<Record<NodeId, PeerAddress>>;
  /** The cluster's shared secret: the shared-secret mode. Exactly one of `secret` and `tls`. */
  readonly secret?: string | Uint8Array;
  /** This node's certificate and key and the cluster's CA: the mutual-TLS mode. */
  readonly tls?: TlsCredentials;
  readonly codec: CommandCodec<C>;
  /** Largest message frame, in bytes; a peer announcing a larger one is disconnected. Default 16 MiB. */
  readonly maxFrameBytes?: number;
  /** Messages waiting per peer while it is unreachable or slow; beyond it the oldest are dropped. Default 1024. */
  readonly maxQueuedFrames?: number;
  /** Validation limits for incoming messages (see codec.ts). */
  readonly limits?: MessageLimits;
  /** Reconnection delays. Default 50 ms doubling up to 5 s. */
  readonly backoff?: Partial<BackoffBounds>;
  /** Time for a new connection (outgoing: connecting included) to authenticate. Default 2 s. */
  readonly handshakeTimeoutMs?: number;
  /**
   * Accepted connections still in their handshake. A new one past it closes the oldest: an idle connection
   * holds its place for a whole handshake timeout, so refusing new ones would let anyone who opens a few dozen
   * a second keep every member out, while a member's handshake takes a round trip or two. Default 64.
   */
  readonly maxPendingHandshakes?: number;
  /**
   * Where snapshot data is read from to send and written to as it arrives: an InstallSnapshot's data must be
   * a `SnapshotRef` of this store, and one received is delivered with a ref of it. Without a store,
   * InstallSnapshot messages are dropped both ways (and logged).
   */
  readonly snapshots?: SnapshotStore;
  /** Largest snapshot accepted from a peer, in bytes; a larger offer is refused. Default 64 GiB. */
  readonly maxSnapshotBytes?: number;
  /** Largest frame of snapshot data sent; at most `maxFrameBytes`. Default 64 KiB (or `maxFrameBytes`). */
  readonly snapshotChunkBytes?: number;
  /** A snapshot transfer that reads or writes nothing for this long is abandoned, either side. Default 30 s. */
  readonly snapshotIdleTimeoutMs?: number;
  /**
   * How long a snapshot delivered whole still counts in `snapshotsInFlight` while the peer stores and restores
   * it, unless the peer answers it first. Default 60 s.
   */
  readonly snapshotAnswerWaitMs?: number;
  readonly logger?: (line: string) => void;
}

export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** What an AppendEntries of one entry may need besides its command: two ids of up to 256 bytes, a few counts. */
const MESSAGE_ALLOWANCE_BYTES = 4 * 1024;
export const DEFAULT_MAX_QUEUED_FRAMES = 1024;
export const DEFAULT_MAX_SNAPSHOT_BYTES = 64 * 1024 ** 3;
export const DEFAULT_SNAPSHOT_CHUNK_BYTES = 64 * 1024;
export const DEFAULT_SNAPSHOT_IDLE_TIMEOUT_MS = 30_000;
export const DEFAULT_SNAPSHOT_ANSWER_WAIT_MS = 60_000;

export class TcpTransport<C> implements Transport<C> {
  private readonly context: ConnectionContext;
  private readonly security: PeerSecurity;
  private readonly counters: Counters = zeroCounters();
  private readonly peers = new Map<NodeId, PeerAddress>();
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly inbound = new Set<InboundConnection<C>>();
  /** Connections accepted and not yet authenticated, oldest first, by remote address: the socket to close. */
  private readonly unauthenticated = new Map<string, Socket>();
  /** The messages connection, and the snapshot transfer connection, that each peer opened to us. */
  private readonly inboundByPeer = new Map<NodeId, InboundConnection<C>>();
  private readonly transferByPeer = new Map<NodeId, InboundConnection<C>>();
  private readonly snapshotSender: SnapshotSender<C> | undefined;
  private readonly maxSnapshotBytes: number;
  private readonly snapshotIdleTimeoutMs: number;
  private readonly handlers: ((message: Message<C>) => void)[] = [];
  /** Peers without an address already reported, so a leader's heartbeats do not flood the log. */
  private readonly reportedUnknown = new Set<NodeId>();
  /**
   * Non-members already reported refused: a removed node that still runs reconnects every few hundred
   * milliseconds, for ever. Its first refusal is logged; the rest are only counted (authFailures).
   */
  private readonly reportedRefused = new Set<NodeId>();
  private readonly maxFrameBytes: number;
  private readonly maxQueuedFrames: number;
  private readonly maxPendingHandshakes: number;
  private readonly backoff: BackoffBounds;
  private server: Server | undefined;
  private stopped = false;

  constructor(private readonly options: TcpTransportOptions<C>) {
    const idProblem = checkNodeId(options.id);
    if (idProblem !== undefined) throw new RangeError(idProblem);
    const handshakeTimeoutMs = positiveInteger('handshakeTimeoutMs', options.handshakeTimeoutMs ?? 2_000);
    this.security = securityOf(options, handshakeTimeoutMs);
    this.maxFrameBytes = positiveInteger('maxFrameBytes', options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    if (this.maxFrameBytes > MAX_U32) throw new RangeError('maxFrameBytes exceeds the u32 length prefix');
    this.maxQueuedFrames = positiveInteger(
      'maxQueuedFrames',
      options.maxQueuedFrames ?? DEFAULT_MAX_QUEUED_FRAMES,
    );
    this.maxPendingHandshakes = positiveInteger('maxPendingHandshakes', options.maxPendingHandshakes ?? 64);
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    positiveInteger('backoff.initialMs', this.backoff.initialMs);
    positiveInteger('backoff.maxMs', this.backoff.maxMs);
    const logger = options.logger;
    this.context = {
      ownId: options.id,
      security: this.security,
      handshakeTimeoutMs,
      counters: this.counters,
      // Log lines quote what peers sent; escaping control characters keeps a peer from forging lines.
      log: logger === undefined ? () => {} : (line) => logger(`[tcp ${options.id}] ${escapeControls(line)}`),
    };
    this.maxSnapshotBytes = positiveInteger(
      'maxSnapshotBytes',
      options.maxSnapshotBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES,
    );
    this.snapshotIdleTimeoutMs = positiveInteger(
      'snapshotIdleTimeoutMs',
      options.snapshotIdleTimeoutMs ?? DEFAULT_SNAPSHOT_IDLE_TIMEOUT_MS,
    );
    const chunkBytes = positiveInteger(
      'snapshotChunkBytes',
      options.snapshotChunkBytes ?? Math.min(DEFAULT_SNAPSHOT_CHUNK_BYTES, this.maxFrameBytes),
    );
    if (chunkBytes > this.maxFrameBytes) throw new RangeError('snapshotChunkBytes exceeds maxFrameBytes');
    if (options.snapshots !== undefined) {
      this.snapshotSender = new SnapshotSender({
        ...this.context,
        store: options.snapshots,
        chunkBytes,
        idleTimeoutMs: this.snapshotIdleTimeoutMs,
        answerWaitMs: positiveInteger(
          'snapshotAnswerWaitMs',
          options.snapshotAnswerWaitMs ?? DEFAULT_SNAPSHOT_ANSWER_WAIT_MS,
        ),
        codec: options.codec,
        limits: options.limits ?? {},
        maxFrameBytes: this.maxFrameBytes,
      });
    }
    for (const [id, address] of Object.entries(options.peers)) this.setPeer(id, address);
  }

  /**
   * Adds a member or changes its address; a changed address is used from the next connection attempt on. A
   * member's connections are taken from now on.
   */
  setPeer(id: NodeId, address: PeerAddress): void {
    const idProblem = checkNodeId(id);
    if (idProblem !== undefined) throw new RangeError(idProblem);
    checkAddress(address);
    if (id === this.options.id) return;
    this.peers.set(id, { host: address.host, port: address.port });
    this.reportedRefused.delete(id);
  }

  /**
   * Removes a member: its connections, both ways, and a snapshot on its way to it are closed now, messages
   * to it are dropped, and it cannot connect again unless `setPeer` makes it a member again.
   */
  removePeer(id: NodeId): void {
    if (!this.peers.delete(id)) return;
    this.reportedUnknown.delete(id);
    void this.links.get(id)?.close();
    this.links.delete(id);
    this.snapshotSender?.cancel(id);
    for (const byPeer of [this.inboundByPeer, this.transferByPeer])
      void byPeer.get(id)?.close(`${id} is no longer a member`);
  }

  /**
   * The largest command a frame carries: the frame limit less room for the rest of the message (ids, counts, a
   * sealing tag). Exact where `commandSize` counts what the codec writes, as the defaults do for structured
   * commands (JSON and its length); where the codec writes more (JSON escapes in a string command, say), a
   * command near the limit may still be too large for a frame, which the transport then drops and logs.
   */
  get maxCommandBytes(): number {
    return Math.max(1, this.maxFrameBytes - MESSAGE_ALLOWANCE_BYTES);
  }

  /**
   * Snapshots on their way to peers (see Transport.snapshotsInFlight): transfers not ended yet, and those
   * delivered whole that their peer has not answered yet.
   */
  get snapshotsInFlight(): number {
    return this.snapshotSender?.inFlight ?? 0;
  }

  /** The members: the peers this node has an address for, and takes connections from. */
  get members(): NodeId[] {
    return [...this.peers.keys()];
  }

  /** The port the transport listens on: the one chosen by the system when `listen.port` was 0. */
  get port(): number {
    const address = this.server?.address();
    if (address == null || typeof address === 'string') throw new Error('the transport is not listening');
    return address.port;
  }

  get stats(): TransportStats {
    let queuedFrames = 0;
    for (const link of this.links.values()) queuedFrames += link.queued;
    return { ...this.counters, queuedFrames };
  }

  send(message: Message<C>): void {
    const address = this.peers.get(message.to);
    if (this.stopped || address === undefined) {
      this.counters.framesDropped++;
      if (!this.stopped && !this.reportedUnknown.has(message.to)) {
        this.reportedUnknown.add(message.to);
        this.context.log(`no address for ${JSON.stringify(message.to)}: dropping messages to it`);
      }
      return;
    }
    if (message.type === 'InstallSnapshot') {
      if (this.snapshotSender !== undefined) this.snapshotSender.send(message, address);
      else {
        this.counters.framesDropped++;
        this.context.log(`no snapshot store: dropping the snapshot at index ${message.snapshot.meta.index}`);
      }
      return;
    }
    let payload: Uint8Array;
    try {
      payload = encodeMessage(message, this.options.codec, this.options.limits);
    } catch (error) {
      this.counters.framesDropped++;
      this.context.log(`cannot encode ${message.type} to ${message.to}: ${describeError(error)}`);
      return;
    }
    if (payload.length > this.maxFrameBytes) {
      this.counters.framesDropped++;
      this.context.log(`${message.type} to ${message.to} is ${payload.length} bytes, over the frame limit`);
      return;
    }
    this.linkTo(message.to).enqueue(payload);
  }

  onMessage(handler: (message: Message<C>) => void): void {
    this.handlers.push(handler);
  }

  async start(): Promise<void> {
    if (this.stopped) throw new Error('a stopped transport cannot start again: create a new one');
    if (this.server !== undefined) return;
    const server = this.security.createServer({
      admit: (handshaking) => this.admit(handshaking),
      accept: (socket) => this.accept(socket),
      counters: this.counters,
      log: this.context.log,
    });
    this.server = server;
    server.on('error', (error) => this.context.log(`server: ${error.message}`));
    const { host, port } = this.options.listen;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.context.log(`listening on ${host}:${this.port} (${this.security.mode})`);
    // Dial every known peer at once: a node that restarts then tells its peers it is up (they dial back, see
    // PeerLink.peerIsUp) before its election timeout, rather than after it with a disruptive vote request.
    for (const peerId of this.peers.keys()) this.linkTo(peerId).dial();
  }

  /**
   * Closes the connection to every peer and dials it again: each then sees this node connect anew, as after a
   * restart, and counts a snapshot it sent and this node never answered as lost (see SnapshotSender.reconnected).
   */
  reconnect(): void {
    if (this.stopped) return;
    for (const peerId of this.peers.keys()) this.linkTo(peerId).redial();
  }

  /** Closes the server and every connection, drops the queues and cancels every timer. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const closing: Promise<void>[] = [];
    for (const link of this.links.values()) closing.push(link.close());
    if (this.snapshotSender !== undefined) closing.push(this.snapshotSender.close());
    for (const connection of this.inbound) closing.push(connection.close());
    const server = this.server;
    if (server?.listening) closing.push(new Promise((resolve) => server.close(() => resolve())));
    await Promise.all(closing);
  }

  private linkTo(peerId: NodeId): PeerLink {
    let link = this.links.get(peerId);
    if (link === undefined) {
      link = new PeerLink({
        ...this.context,
        peerId,
        addressOf: () => this.peers.get(peerId)!,
        maxQueuedFrames: this.maxQueuedFrames,
        maxFrameBytes: this.maxFrameBytes,
        backoff: this.backoff,
      });
      this.links.set(peerId, link);
    }
    return link;
  }

  /**
   * Takes a new connection, not yet authenticated, closing the oldest such one if `maxPendingHandshakes` are
   * pending (see there); false once stopped.
   */
  private admit(socket: Socket): boolean {
    if (this.stopped) return false;
    if (this.unauthenticated.size >= this.maxPendingHandshakes) {
      const [remote, oldest] = this.unauthenticated.entries().next().value!;
      this.unauthenticated.delete(remote);
      this.counters.handshakesEvicted++;
      this.context.log(
        `closed the connection from ${remote} for a newer one: ${this.maxPendingHandshakes} handshakes pending`,
      );
      oldest.destroy();
    }
    const remote = remoteOf(socket);
    this.unauthenticated.set(remote, socket);
    socket.once('close', () => {
      if (this.unauthenticated.get(remote) === socket) this.unauthenticated.delete(remote);
    });
    return true;
  }

  private accept(socket: Socket): void {
    const remote = remoteOf(socket);
    const connection = new InboundConnection(socket, {
      ...this.context,
      codec: this.options.codec,
      limits: this.options.limits ?? {},
      maxFrameBytes: this.maxFrameBytes,
      snapshots:
        this.options.snapshots === undefined
          ? undefined
          : { store: this.options.snapshots, maxSnapshotBytes: this.maxSnapshotBytes },
      snapshotIdleTimeoutMs: this.snapshotIdleTimeoutMs,
      isMember: (id) => this.peers.has(id),
      firstRefusal: (id) => !this.reportedRefused.has(id) && !!this.reportedRefused.add(id),
      deliver: (message) => this.deliver(message),
      authenticated: (authenticated) => {
        this.unauthenticated.delete(remote);
        this.registerInbound(authenticated);
      },
      closed: (closed) => this.forgetInbound(closed),
    });
    this.inbound.add(connection);
  }

  /**
   * A peer has one incoming connection of each purpose: a new one replaces the old, which is likely
   * half-open, or (a snapshot) one that its sender has given up for a newer snapshot.
   */
  private registerInbound(connection: InboundConnection<C>): void {
    const peerId = connection.peerId!;
    const byPeer = this.inboundOf(connection);
    const previous = byPeer.get(peerId);
    byPeer.set(peerId, connection);
    void previous?.close('replaced by a newer connection from the same peer');
    this.links.get(peerId)?.peerIsUp();
    // The peer may have restarted, and lost a snapshot it had not stored yet: it may need it again.
    if (connection.purpose !== 'snapshot') this.snapshotSender?.reconnected(peerId);
  }

  private forgetInbound(connection: InboundConnection<C>): void {
    this.inbound.delete(connection);
    const peerId = connection.peerId;
    const byPeer = this.inboundOf(connection);
    if (peerId !== undefined && byPeer.get(peerId) === connection) byPeer.delete(peerId);
  }

  private inboundOf(connection: InboundConnection<C>): Map<NodeId, InboundConnection<C>> {
    return connection.purpose === 'snapshot' ? this.transferByPeer : this.inboundByPeer;
  }

  private deliver(message: Message<C>): void {
    if (message.type === 'InstallSnapshotResponse')
      this.snapshotSender?.answered(message.from, message.index);
    for (const handler of this.handlers) {
      try {
        handler(message);
      } catch (error) {
        this.counters.handlerErrors++;
        this.context.log(
          `message handler threw on ${message.type} from ${message.from}: ${describeError(error)}`,
        );
      }
    }
  }
}

function securityOf<C>(options: TcpTransportOptions<C>, handshakeTimeoutMs: number): PeerSecurity {
  const { secret, tls } = options;
  if ((secret === undefined) === (tls === undefined))
    throw new RangeError('give exactly one of `secret` (shared-secret mode) and `tls` (mutual TLS)');
  if (tls !== undefined) return new MutualTls(options.id, tls, handshakeTimeoutMs);
  return new SharedSecret(typeof secret === 'string' ? new TextEncoder().encode(secret) : secret!);
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer`);
  return value;
}

function checkAddress(address: PeerAddress): void {
  if (typeof address.host !== 'string' || address.host.length === 0) throw new RangeError('empty host');
  const { port } = address;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new RangeError(`bad port ${port}`);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it must find.
const controlCharacters = /[\u0000-\u001f\u007f]/g;

function escapeControls(line: string): string {
  return line.replace(controlCharacters, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
