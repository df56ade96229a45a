/**
 * The sending end of snapshot transfers (see snapshot-wire.ts). Each transfer has a connection of its own, so
 * that a snapshot of gigabytes never stands between a peer and its heartbeats; closing it is how a transfer is
 * abandoned. The data is read from the store one chunk at a time, and the next chunk only once the socket has
 * taken the last one (its buffer drained), so the sender holds about a chunk, whatever the snapshot's size.
 * At most one transfer per peer: the core sends a snapshot again after a timeout, and a copy of the one already
 * on its way, or of one the peer has whole and has not answered yet (it is storing and restoring it), is
 * dropped. A newer snapshot replaces an older one only if no byte of the older one has been sent: a transfer
 * under way is let finish (one that stops moving is abandoned by its idle timeout), or a snapshot that takes
 * longer to send than the leader takes to make a newer one would start over without end.
 */
import type { InstallSnapshot, NodeId } from '../../core/index.js';
import type { CommandCodec } from '../binary.js';
import { isSnapshotRef, type SnapshotRef, type SnapshotStore } from '../snapshot-data.js';
import { describeError, type MessageLimits } from './codec.js';
import type { ConnectionContext, FramedConnection } from './connection.js';
import { dial, type PeerAddress } from './dial.js';
import { encodeOffer } from './snapshot-wire.js';

export interface SnapshotSendOptions {
  readonly store: SnapshotStore;
  /** Largest data frame. */
  readonly chunkBytes: number;
  /** A transfer that reads or writes nothing for this long is abandoned (the peer's checks included). */
  readonly idleTimeoutMs: number;
  /** How long a snapshot delivered whole counts as in flight, unless its peer answers it first. */
  readonly answerWaitMs: number;
}

export interface SnapshotSenderOptions<C> extends ConnectionContext, SnapshotSendOptions {
  readonly codec: CommandCodec<C>;
  readonly limits: MessageLimits;
  readonly maxFrameBytes: number;
}

export class SnapshotSender<C> {
  private readonly transfers = new Map<NodeId, OutgoingTransfer>();
  /**
   * Peers that have a snapshot whole and have not answered it yet, with when to stop waiting. The receiver
   * acknowledges the bytes at once, but answers the leader only once it has stored and restored the snapshot,
   * which takes long for a large state. Until then the snapshot still counts as in flight: a leader that
   * compacted meanwhile would find the answer below its log's start and send another, without end under writes.
   */
  private readonly unanswered = new Map<NodeId, { readonly index: number; readonly until: number }>();

  constructor(private readonly options: SnapshotSenderOptions<C>) {}

  /** Starts sending `message`'s snapshot to the peer at `address`, unless it is on its way already. */
  send(message: InstallSnapshot, address: PeerAddress): void {
    const { options } = this;
    const { index } = message.snapshot.meta;
    const current = this.transfers.get(message.to);
    if (current !== undefined && (current.index >= index || current.underWay)) return;
    // The core sends a snapshot again when its follower is silent for an election timeout: a follower restoring
    // a large state is, and it has this one already.
    const had = this.unansweredBy(message.to);
    if (had !== undefined && had.index >= index) return;
    const ref = message.snapshot.data;
    let offer: Uint8Array;
    try {
      if (!isSnapshotRef(ref)) throw new RangeError('its data is not a snapshot ref');
      offer = encodeOffer(message, ref, options.codec, options.limits);
    } catch (error) {
      options.counters.framesDropped++;
      options.log(`cannot send the snapshot at index ${index} to ${message.to}: ${describeError(error)}`);
      return;
    }
    current?.cancel(`replaced by the snapshot at index ${index}`);
    const transfer = new OutgoingTransfer(message, ref, offer, address, options);
    this.transfers.set(message.to, transfer);
    this.unanswered.delete(message.to);
    void transfer.ended.then((delivered) => {
      if (this.transfers.get(message.to) !== transfer) return;
      this.transfers.delete(message.to);
      if (delivered && !transfer.answered)
        this.unanswered.set(message.to, { index, until: performance.now() + options.answerWaitMs });
    });
  }

  /**
   * The peer answered a snapshot, with its commit index: a snapshot through `index` or before is stored and
   * restored (an answer may even come before its transfer is seen to end: the receiver hands the snapshot over,
   * then confirms the bytes).
   */
  answered(peerId: NodeId, index: number): void {
    const waiting = this.unanswered.get(peerId);
    if (waiting !== undefined && waiting.index <= index) this.unanswered.delete(peerId);
    const transfer = this.transfers.get(peerId);
    if (transfer !== undefined && transfer.index <= index) transfer.answered = true;
  }

  /** The peer connected anew: it may have restarted, and lost a snapshot it had not stored. */
  reconnected(peerId: NodeId): void {
    this.unanswered.delete(peerId);
  }

  /** Transfers not ended yet, and snapshots delivered whole and not answered yet (for at most answerWaitMs). */
  get inFlight(): number {
    for (const peer of [...this.unanswered.keys()]) this.unansweredBy(peer);
    return this.transfers.size + this.unanswered.size;
  }

  /** The snapshot `peer` has whole and has not answered, unless the wait for its answer ran out. */
  private unansweredBy(peer: NodeId): { readonly index: number } | undefined {
    const waiting = this.unanswered.get(peer);
    if (waiting !== undefined && waiting.until <= performance.now()) this.unanswered.delete(peer);
    return this.unanswered.get(peer);
  }

  /** Abandons the transfer to `peerId`, if there is one. */
  cancel(peerId: NodeId): void {
    this.unanswered.delete(peerId);
    this.transfers.get(peerId)?.cancel(`${peerId} is no longer a member`);
  }

  /** Abandons every transfer; resolves once each has let go of its connection and its store reader. */
  async close(): Promise<void> {
    this.unanswered.clear();
    const ending = [...this.transfers.values()].map((transfer) => {
      transfer.cancel();
      return transfer.ended;
    });
    await Promise.all(ending);
  }
}

class OutgoingTransfer {
  readonly index: number;
  /** The peer answered this snapshot (or a later one) already. */
  answered = false;
  /** Resolves when the transfer is over, whichever way (true: the peer has every byte); never rejects. */
  readonly ended: Promise<boolean>;
  private readonly connection: FramedConnection | undefined;
  private open = false;
  private closed = false;
  private done = false;
  private sent = 0;
  /** Wakes the transfer up when something it may be waiting for happened. */
  private wake: () => void = () => {};

  constructor(
    private readonly message: InstallSnapshot,
    private readonly ref: SnapshotRef,
    offer: Uint8Array,
    address: PeerAddress,
    private readonly options: SnapshotSenderOptions<unknown>,
  ) {
    this.index = message.snapshot.meta.index;
    this.connection = dial(
      { ...options, peerId: message.to, address, purpose: 'snapshot' },
      {
        onOpen: () => {
          this.open = true;
          this.wake();
        },
        onFrame: (payload) => {
          if (payload.length !== 0 || this.sent !== ref.bytes) {
            void this.connection?.close('the receiver sent a frame out of turn');
            return;
          }
          this.done = true;
          this.wake();
        },
        onDrain: () => this.wake(),
        onClose: () => {
          this.closed = true;
          this.wake();
        },
      },
    );
    this.ended = this.run(offer);
  }

  /** Whether data has started to flow: replacing the transfer now would throw away what was sent. */
  get underWay(): boolean {
    return this.sent > 0 && !this.closed;
  }

  /** Abandons the transfer (logging why, if a reason is given). */
  cancel(reason?: string): void {
    void this.connection?.close(reason);
  }

  private async run(offer: Uint8Array): Promise<boolean> {
    const { options, message, ref, connection } = this;
    if (connection === undefined) return this.failed();
    try {
      if (!(await this.until(() => this.open))) return this.failed();
      connection.closeWhenIdle(options.idleTimeoutMs);
      connection.write(offer);
      for await (const chunk of options.store.read(message.snapshot)) {
        if (!(await this.sendChunk(connection, chunk))) return this.failed();
      }
      if (this.sent !== ref.bytes)
        throw new Error(`the store held ${this.sent} bytes where its ref says ${ref.bytes}`);
      if (!(await this.until(() => this.done))) return this.failed();
      options.counters.snapshotsSent++;
      options.log(`${connection.label}: sent the snapshot at index ${this.index} (${ref.bytes} bytes)`);
      await connection.close();
      return true;
    } catch (error) {
      await connection.close(`cannot send the snapshot at index ${this.index}: ${describeError(error)}`);
      return this.failed();
    }
  }

  /** Writes `chunk` in frames of at most the chunk size; false when the connection closed meanwhile. */
  private async sendChunk(connection: FramedConnection, chunk: Uint8Array): Promise<boolean> {
    const { chunkBytes, counters } = this.options;
    for (let offset = 0; offset < chunk.length; offset += chunkBytes) {
      const frame = chunk.subarray(offset, offset + chunkBytes);
      this.sent += frame.length;
      if (this.sent > this.ref.bytes)
        throw new Error(`the store holds more than the ${this.ref.bytes} bytes of its ref`);
      counters.snapshotBytesSent += frame.length;
      // Wait until the socket has taken what it holds before writing (or reading from the store) any more.
      if (!connection.write(frame) && !(await this.until(() => connection.writable))) return false;
    }
    return !this.closed;
  }

  /** Waits until `condition` holds or the connection closes; whether it holds. */
  private async until(condition: () => boolean): Promise<boolean> {
    while (!condition() && !this.closed) await new Promise<void>((resolve) => (this.wake = resolve));
    return condition();
  }

  private failed(): false {
    this.options.counters.snapshotsFailed++;
    return false;
  }
}
