/**
 * The outgoing half of the conversation with one peer: a bounded queue of encoded messages and the one
 * connection that carries them. The connection is opened on the first message, authenticated before anything
 * is sent on it, and reopened after a loss with exponential backoff for as long as messages wait.
 */
import type { NodeId } from '../../core/index.js';
import { type BackoffBounds, backoffDelay } from './backoff.js';
import type { ConnectionContext, FramedConnection } from './connection.js';
import { dial, type PeerAddress } from './dial.js';

export interface PeerLinkOptions extends ConnectionContext {
  readonly peerId: NodeId;
  /** Read at each connection attempt, so that a changed address applies from the next one on. */
  readonly addressOf: () => PeerAddress;
  readonly maxQueuedFrames: number;
  readonly maxFrameBytes: number;
  readonly backoff: BackoffBounds;
}

export class PeerLink {
  private readonly queue: Uint8Array[] = [];
  private connection: FramedConnection | undefined;
  private open = false;
  /** Consecutive attempts that did not end in an authenticated connection. */
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: PeerLinkOptions) {}

  get queued(): number {
    return this.queue.length;
  }

  /**
   * Queues an encoded message. When the queue is full the oldest message goes: after an outage the peer is
   * better served by the latest terms and commit indices than by the stale ones.
   */
  enqueue(payload: Uint8Array): void {
    if (this.closed) {
      this.options.counters.framesDropped++;
      return;
    }
    if (this.queue.length >= this.options.maxQueuedFrames) {
      this.queue.shift();
      this.options.counters.framesDropped++;
    }
    this.queue.push(payload);
    if (this.open) this.flush();
    else if (this.connection === undefined && this.retryTimer === undefined) this.connect();
  }

  /**
   * The peer just proved itself on a connection it dialled to us, so it is up now: skip the rest of the
   * backoff and dial it back at once. Otherwise a peer that restarted would wait out a backoff longer than an
   * election timeout before hearing from the leader, and start an election that unseats it.
   */
  peerIsUp(): void {
    if (this.closed || this.connection !== undefined) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.failures = 0;
    this.connect();
  }

  /** Opens the connection now, before there is anything to send, unless one is open or a retry is due. */
  dial(): void {
    if (!this.closed && this.connection === undefined && this.retryTimer === undefined) this.connect();
  }

  /** Drops the queue, closes the connection and cancels any retry, for good. */
  close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.queue.length = 0;
    return this.connection?.close() ?? Promise.resolve();
  }

  /**
   * Closes the connection, if any, and dials the peer again at once, so that it sees this node connect anew as
   * after a restart. What is queued goes on the new connection.
   */
  redial(): void {
    if (this.closed) return;
    const old = this.connection;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.failures = 0;
    this.connect();
    void old?.close('dialling the peer anew');
  }

  private connect(): void {
    const options = { ...this.options, address: this.options.addressOf(), purpose: 'messages' as const };
    this.open = false;
    // The callbacks of a connection that `redial` replaced are ignored: it no longer carries this link.
    const connection = dial(options, {
      onOpen: () => {
        if (this.connection !== connection) return;
        this.open = true;
        this.failures = 0;
        this.flush();
      },
      onDrain: () => {
        if (this.connection === connection) this.flush();
      },
      onClose: () => {
        if (this.connection === connection) this.connectionClosed();
      },
    });
    this.connection = connection;
    // Only a malformed address fails at once; treat it as a failed attempt and try again later.
    if (this.connection === undefined) this.connectionClosed();
  }

  private connectionClosed(): void {
    this.connection = undefined;
    this.open = false;
    if (this.closed) return;
    this.failures++;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        if (this.queue.length > 0) this.connect();
      },
      backoffDelay(this.failures, this.options.backoff),
    );
  }

  private flush(): void {
    const connection = this.connection;
    if (!this.open || connection === undefined) return;
    while (this.queue.length > 0 && connection.writable) {
      connection.write(this.queue.shift()!);
      this.options.counters.framesSent++;
    }
  }
}
