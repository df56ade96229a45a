/**
 * The receiving end of one snapshot transfer (see snapshot-wire.ts): it writes the chunks into a new
 * `SnapshotWriter` as they arrive, reading no further from the socket while a write is pending (so memory holds
 * at most a frame or two, and TCP holds the sender back), and checks the whole against the offered length and
 * CRC-32. Only a transfer that arrived whole and checked, on a connection still open, becomes a message, with
 * the receiver's own ref as its data; anything else is aborted and never delivered.
 */
import { crc32 } from 'node:zlib';
import type { InstallSnapshot, NodeId } from '../../core/index.js';
import type { CommandCodec } from '../binary.js';
import type { SnapshotRef, SnapshotStore, SnapshotWriter } from '../snapshot-data.js';
import { describeError, type MessageLimits } from './codec.js';
import type { ConnectionContext, FramedConnection } from './connection.js';
import { decodeOffer, type SnapshotOffer, TRANSFER_DONE } from './snapshot-wire.js';

export interface SnapshotReceiveOptions {
  readonly store: SnapshotStore;
  /** Largest snapshot accepted, in bytes; a larger offer is refused before any data arrives. */
  readonly maxSnapshotBytes: number;
}

export interface IncomingTransferOptions<C> extends ConnectionContext, SnapshotReceiveOptions {
  readonly peerId: NodeId;
  readonly codec: CommandCodec<C>;
  readonly limits: MessageLimits;
  readonly deliver: (message: InstallSnapshot) => void;
}

type Phase =
  | { readonly kind: 'awaitOffer' }
  | { readonly kind: 'data'; readonly offer: SnapshotOffer; readonly writer: SnapshotWriter }
  /** Whole and checked, and being made durable by `finish`. */
  | { readonly kind: 'finishing'; readonly offer: SnapshotOffer; readonly writer: SnapshotWriter }
  | { readonly kind: 'delivered' }
  | { readonly kind: 'failed' };

export class IncomingTransfer<C> {
  private phase: Phase = { kind: 'awaitOffer' };
  private received = 0;
  private checksum = 0;

  constructor(
    private readonly connection: FramedConnection,
    private readonly options: IncomingTransferOptions<C>,
  ) {}

  /** Handles a frame of the transfer's connection. */
  receive(payload: Uint8Array): void {
    const { phase } = this;
    if (phase.kind === 'awaitOffer') this.start(payload);
    else if (phase.kind === 'data') this.settle(this.write(payload, phase.offer, phase.writer));
    else if (phase.kind === 'delivered') this.connection.close('the sender sent a frame after its snapshot');
  }

  /** The connection closed: a transfer not yet delivered is lost. */
  closed(): void {
    if (this.phase.kind === 'data' || this.phase.kind === 'finishing') {
      const { bytes } = this.phase.offer;
      this.fail(`interrupted after ${this.received} of ${bytes} bytes`);
    }
  }

  private start(payload: Uint8Array): void {
    const { options } = this;
    const result = decodeOffer(payload, options.codec, options.limits);
    if (!result.ok) return this.fail(`the offer does not decode: ${result.error}`);
    const { offer } = result;
    const { message } = offer;
    if (message.from !== options.peerId || message.to !== options.ownId) {
      options.counters.misaddressed++;
      return this.fail(`an offer of a snapshot from ${message.from} to ${message.to}`);
    }
    if (offer.bytes > options.maxSnapshotBytes) {
      return this.fail(`a snapshot of ${offer.bytes} bytes exceeds the limit of ${options.maxSnapshotBytes}`);
    }
    let writer: SnapshotWriter;
    try {
      writer = options.store.create();
    } catch (error) {
      return this.fail(`cannot create a snapshot: ${describeError(error)}`);
    }
    this.phase = { kind: 'data', offer, writer };
    if (offer.bytes === 0) this.settle(this.check(offer, writer));
  }

  private async write(chunk: Uint8Array, offer: SnapshotOffer, writer: SnapshotWriter): Promise<void> {
    if (chunk.length === 0) return this.fail('an empty chunk');
    if (this.received + chunk.length > offer.bytes)
      return this.fail(`more than the ${offer.bytes} bytes offered`);
    this.received += chunk.length;
    this.checksum = crc32(chunk, this.checksum);
    this.options.counters.snapshotBytesReceived += chunk.length;
    // Read nothing more until the store has taken this chunk: what we hold stays within a frame or two.
    this.connection.pause();
    try {
      await writer.write(chunk);
    } catch (error) {
      return this.fail(`cannot write the snapshot: ${describeError(error)}`);
    }
    if (this.phase.kind !== 'data') return;
    if (this.received < offer.bytes) this.connection.resume();
    else await this.check(offer, writer);
  }

  private async check(offer: SnapshotOffer, writer: SnapshotWriter): Promise<void> {
    if (this.checksum !== offer.crc32) {
      return this.fail(`CRC-32 ${this.checksum} where ${offer.crc32} was offered: the data is corrupt`);
    }
    this.phase = { kind: 'finishing', offer, writer };
    let ref: SnapshotRef;
    try {
      ref = await writer.finish();
    } catch (error) {
      return this.fail(`cannot store the snapshot: ${describeError(error)}`);
    }
    // A connection closed meanwhile (the transport stopped, or the sender gave up) already aborted the writer.
    if (this.phase.kind === 'finishing') this.deliver(offer, ref);
  }

  private deliver(offer: SnapshotOffer, ref: SnapshotRef): void {
    this.phase = { kind: 'delivered' };
    const { options } = this;
    options.counters.snapshotsReceived++;
    const { message } = offer;
    const { index } = message.snapshot.meta;
    options.log(`${this.connection.label}: received the snapshot at index ${index} (${offer.bytes} bytes)`);
    options.deliver({ ...message, snapshot: { ...message.snapshot, data: ref } });
    this.connection.write(TRANSFER_DONE);
    // Read again, to see the sender close the connection.
    this.connection.resume();
  }

  /** Lets a step of the transfer run on its own: whatever it throws fails the transfer, not the process. */
  private settle(step: Promise<void>): void {
    step.catch((error: unknown) => this.fail(`internal error: ${describeError(error)}`));
  }

  private fail(reason: string): void {
    const { phase, options } = this;
    if (phase.kind === 'failed' || phase.kind === 'delivered') return;
    this.phase = { kind: 'failed' };
    options.counters.snapshotsFailed++;
    options.log(`${this.connection.label}: snapshot transfer failed: ${reason}`);
    void this.connection.close();
    if (phase.kind === 'data' || phase.kind === 'finishing') {
      phase.writer.abort().catch((error: unknown) => {
        options.log(`cannot abort a snapshot transfer: ${describeError(error)}`);
      });
    }
  }
}
