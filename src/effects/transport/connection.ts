/**
 * One socket carrying frames, in either direction: the part shared by outgoing links and accepted
 * connections. It owns every way bytes from the network could hurt the node: it handles the socket's 'error'
 * event, bounds frames (small until authenticated), closes a connection that does not authenticate in time,
 * seals and opens the frames after a shared-secret handshake (closing the connection at the first that fails),
 * and catches anything thrown while handling received bytes, so nothing escapes into the event loop.
 */
import type { Socket } from 'node:net';
import type { NodeId } from '../../core/index.js';
import { encodeFrame, FrameDecoder } from './framing.js';
import { HANDSHAKE_MAX_FRAME_BYTES } from './handshake.js';
import { FrameOpener, FrameSealer, SEAL_OVERHEAD, type SessionKeys } from './sealing.js';
import type { PeerSecurity } from './security.js';
import type { Counters } from './stats.js';

const KEEPALIVE_DELAY_MS = 10_000;

/** What every connection of a transport shares. */
export interface ConnectionContext {
  readonly ownId: NodeId;
  readonly security: PeerSecurity;
  readonly handshakeTimeoutMs: number;
  readonly counters: Counters;
  readonly log: (line: string) => void;
}

export interface ConnectionEvents {
  /** A complete frame; before `authenticated()` at most HANDSHAKE_MAX_FRAME_BYTES long. */
  onFrame(payload: Uint8Array): void;
  /** The socket can take more writes after `write` returned false. */
  onDrain?(): void;
  /** The socket is closed, for whatever reason; called once. */
  onClose(): void;
}

export class FramedConnection {
  private readonly decoder = new FrameDecoder(HANDSHAKE_MAX_FRAME_BYTES);
  private readonly handshakeTimer: NodeJS.Timeout;
  private readonly closed: Promise<void>;
  private paused = false;
  /** Set once a shared-secret handshake succeeded: every later frame is sealed, both ways. */
  private sealer: FrameSealer | undefined;
  private opener: FrameOpener | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly context: ConnectionContext,
    /** Names the connection in log lines, e.g. "connection to b". */
    public label: string,
    private readonly events: ConnectionEvents,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.setNoDelay(true);
    // Finds peers that vanished without a FIN (a crashed host, a dropped route) on idle connections.
    socket.setKeepAlive(true, KEEPALIVE_DELAY_MS);
    socket.on('error', (error) => {
      const { text, counter } = context.security.describe(error, socket);
      if (counter !== undefined) context.counters[counter]++;
      context.log(`${this.label}: ${text}`);
      // A TLS socket reports some errors (an alert from the peer) without closing itself.
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => this.guard(() => events.onDrain?.()));
    socket.once('close', () => {
      clearTimeout(this.handshakeTimer);
      this.guard(() => events.onClose());
    });
    this.handshakeTimer = setTimeout(() => {
      context.counters.handshakeTimeouts++;
      this.close(`handshake not completed within ${context.handshakeTimeoutMs} ms`);
    }, context.handshakeTimeoutMs);
  }

  /** Sends one frame; false when the socket's buffer is full and the caller should wait for onDrain. */
  write(payload: Uint8Array): boolean {
    if (this.socket.destroyed) return false;
    const frame = encodeFrame(this.sealer === undefined ? payload : this.sealer.seal(payload));
    this.context.counters.bytesSent += frame.length;
    return this.socket.write(frame);
  }

  get writable(): boolean {
    return !this.socket.destroyed && !this.socket.writableNeedDrain;
  }

  /**
   * The handshake succeeded: stop its clock and accept frames up to the transport's limit, sealed with `keys`
   * from now on if there are any (the handshake's own frames, the last one included, are not).
   */
  authenticated(maxFrameBytes: number, keys?: SessionKeys): void {
    clearTimeout(this.handshakeTimer);
    this.decoder.maxFrameBytes = maxFrameBytes;
    if (keys === undefined) return;
    this.decoder.maxFrameBytes += SEAL_OVERHEAD;
    this.sealer = new FrameSealer(keys.send);
    this.opener = new FrameOpener(keys.receive);
  }

  /**
   * Hands over no more frames, and reads no more from the socket (so TCP flow control holds the peer back),
   * until `resume`: for a receiver whose handling of a frame is slower than the network.
   */
  pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
    this.deliverFrames();
  }

  /** Closes the connection once it has gone `ms` without reading or writing a byte. */
  closeWhenIdle(ms: number): void {
    this.socket.setTimeout(ms, () => this.close(`nothing read or written for ${ms} ms`));
  }

  /** Closes the socket at once (logging why, if a reason is given); resolves when it is fully closed. */
  close(reason?: string): Promise<void> {
    if (!this.socket.destroyed) {
      if (reason !== undefined) this.context.log(`${this.label}: closing: ${reason}`);
      this.socket.destroy();
    }
    return this.closed;
  }

  private receive(chunk: Buffer): void {
    this.context.counters.bytesReceived += chunk.length;
    this.decoder.push(chunk);
    this.deliverFrames();
  }

  private deliverFrames(): void {
    this.guard(() => {
      while (!this.paused && !this.socket.destroyed) {
        const result = this.decoder.next();
        if (result === undefined) return;
        if (result.kind === 'tooLarge') {
          this.context.counters.oversizedFrames++;
          this.close(`frame of ${result.length} bytes exceeds the limit of ${this.decoder.maxFrameBytes}`);
          return;
        }
        const payload = this.opener === undefined ? result.payload : this.opener.open(result.payload);
        if (payload === undefined) {
          this.context.counters.forgedFrames++;
          this.close('a frame failed authentication: forged, changed, replayed or out of order');
          return;
        }
        this.events.onFrame(payload);
      }
    });
  }

  /** Runs a callback of ours on behalf of the socket: a bug must cost the connection, not the process. */
  private guard(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.close(`internal error: ${error instanceof Error ? error.stack : String(error)}`);
    }
  }
}
