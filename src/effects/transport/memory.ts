/**
 * An in-process network for tests: a hub that connects any number of transports by node id. Delivery is
 * asynchronous (one macrotask later, like a real network, so a handler that answers at once cannot recurse into
 * its peer), and links can be cut to simulate partitions. A handler that throws is a bug in the code under
 * test: the error is left uncaught so the test fails loudly.
 *
 * Snapshots travel as they do over TCP: a node that attaches with its storage's `SnapshotStore` gets an
 * InstallSnapshot only once its data has been copied, chunk by chunk, from the sender's store into its own, and
 * with its own ref as the data. A copy that fails, or whose link is cut meanwhile, is dropped and its data
 * released. Between nodes without stores, the data passes as is.
 */
import type { InstallSnapshot, Message, NodeId } from '../../core/index.js';
import type { CommandCodec } from '../binary.js';
import { isSnapshotRef, type SnapshotRef, type SnapshotStore } from '../snapshot-data.js';
import { decodeMessage, describeError, encodeMessage } from './codec.js';
import type { Transport } from './transport.js';

export interface MemoryNetworkOptions<C> {
  /**
   * When given, every message goes through the wire codec on its way, so tests see exactly what a TCP peer
   * would (and a message the codec refuses is rejected). Otherwise messages are structured clones. Either way
   * an InstallSnapshot travels as one message; through the codec its data, which a TCP transport would carry
   * in chunks beside it, passes as is.
   */
  readonly codec?: CommandCodec<C>;
  readonly logger?: (line: string) => void;
  /** The transports' `maxCommandBytes`, as a TCP transport's frame limit sets it. Default: none. */
  readonly maxCommandBytes?: number;
}

export interface MemoryNetworkStats {
  readonly delivered: number;
  /** Sent while the sender was stopped, across a cut link, or to a node that is absent or stopped. */
  readonly dropped: number;
  /** Not from its sender, or refused by the codec (or structured clone): a bug, so a test expects none. */
  readonly rejected: number;
  /** Calls of a transport's `reconnect` (its node started afresh in process): there is no connection to drop. */
  readonly reconnections: number;
}

export class MemoryNetwork<C> {
  private readonly transports = new Map<NodeId, MemoryTransport<C>>();
  private readonly cutLinks = new Set<string>();
  private counts = { delivered: 0, dropped: 0, rejected: 0, reconnections: 0 };

  constructor(private readonly options: MemoryNetworkOptions<C> = {}) {}

  /**
   * The transport of node `id`, attached to this network; `snapshots` is where its snapshot data lives (its
   * storage's store). Each id may attach once, until `detach`.
   */
  transport(id: NodeId, snapshots?: SnapshotStore): Transport<C> {
    if (this.transports.has(id)) throw new Error(`node ${id} is already attached`);
    const transport = new MemoryTransport<C>(id, this, snapshots, this.options.maxCommandBytes);
    this.transports.set(id, transport);
    return transport;
  }

  /** Detaches node `id` (a node that crashed or stopped), so that a new incarnation can attach. */
  detach(id: NodeId): void {
    this.transports.get(id)?.stop();
    this.transports.delete(id);
  }

  /** Drops every message from `from` to `to` until `restore` or `heal`. */
  cut(from: NodeId, to: NodeId): void {
    this.cutLinks.add(linkKey(from, to));
  }

  restore(from: NodeId, to: NodeId): void {
    this.cutLinks.delete(linkKey(from, to));
  }

  /** Cuts every link into and out of `id`. */
  isolate(id: NodeId): void {
    for (const other of this.transports.keys()) {
      if (other === id) continue;
      this.cut(id, other);
      this.cut(other, id);
    }
  }

  heal(): void {
    this.cutLinks.clear();
  }

  get stats(): MemoryNetworkStats {
    return { ...this.counts };
  }

  /** For the transports: see MemoryNetworkStats.reconnections. */
  reconnected(): void {
    this.counts.reconnections++;
  }

  /** For the transports: copies the message now and delivers it one macrotask later. */
  route(sender: NodeId, senderRunning: boolean, message: Message<C>): void {
    if (message.from !== sender) {
      // A TCP peer would drop it too: the sender's id is the one it authenticated with.
      this.reject(message, `${sender} sent a message claiming to be from ${JSON.stringify(message.from)}`);
      return;
    }
    if (!senderRunning || this.cutLinks.has(linkKey(message.from, message.to))) {
      this.counts.dropped++;
      return;
    }
    const copy = this.copy(message);
    if (copy === undefined) return;
    if (copy.type === 'InstallSnapshot' && isSnapshotRef(copy.snapshot.data)) {
      void this.carrySnapshot(copy, copy.snapshot.data);
      return;
    }
    setImmediate(() => {
      const target = this.transports.get(copy.to);
      if (target === undefined) this.counts.dropped++;
      else this.handOver(target, copy);
    });
  }

  private copy(message: Message<C>): Message<C> | undefined {
    const { codec } = this.options;
    try {
      if (codec === undefined) return structuredClone(message);
      const decoded = decodeMessage(encodeMessage(message, codec), codec);
      if (decoded.ok) return withDataOf(message, decoded.message);
      this.reject(message, decoded.error);
    } catch (error) {
      this.reject(message, describeError(error));
    }
    return undefined;
  }

  /** Copies the snapshot's data into the receiver's store, then delivers the message with the receiver's ref. */
  private async carrySnapshot(message: InstallSnapshot, data: SnapshotRef): Promise<void> {
    const from = this.transports.get(message.from)?.snapshots;
    const target = this.transports.get(message.to);
    if (target === undefined) {
      this.counts.dropped++;
      return;
    }
    const into = target.snapshots;
    if (from === undefined || into === undefined) {
      // Neither side keeps snapshot data: it passes as is, as before stores were attached.
      if (from === undefined && into === undefined) setImmediate(() => this.handOver(target, message));
      else this.reject(message, 'snapshot data between a node with a snapshot store and one without');
      return;
    }
    let ref: SnapshotRef;
    const writer = into.create();
    try {
      for await (const chunk of from.read(message.snapshot)) await writer.write(chunk);
      ref = await writer.finish();
    } catch (error) {
      await writer.abort().catch(() => {});
      this.counts.dropped++;
      this.options.logger?.(`memory network: snapshot ${data.name} not copied: ${describeError(error)}`);
      return;
    }
    // The receiver restarted, or the link was cut, while the data was on its way.
    const deliverable =
      this.transports.get(message.to) === target && !this.cutLinks.has(linkKey(message.from, message.to));
    const received = { ...message, snapshot: { ...message.snapshot, data: ref } };
    if (deliverable && this.handOver(target, received)) return;
    if (!deliverable) this.counts.dropped++;
    await into.release(ref);
  }

  private handOver(target: MemoryTransport<C>, message: Message<C>): boolean {
    const delivered = target.deliver(message);
    if (delivered) this.counts.delivered++;
    else this.counts.dropped++;
    return delivered;
  }

  private reject(message: Message<C>, reason: string): void {
    this.counts.rejected++;
    this.options.logger?.(`memory network: rejected ${message.type} from ${message.from}: ${reason}`);
  }
}

class MemoryTransport<C> implements Transport<C> {
  private readonly handlers: ((message: Message<C>) => void)[] = [];
  private running = false;

  constructor(
    private readonly id: NodeId,
    private readonly network: MemoryNetwork<C>,
    readonly snapshots: SnapshotStore | undefined,
    readonly maxCommandBytes: number | undefined,
  ) {}

  send(message: Message<C>): void {
    this.network.route(this.id, this.running, message);
  }

  onMessage(handler: (message: Message<C>) => void): void {
    this.handlers.push(handler);
  }

  reconnect(): void {
    this.network.reconnected();
  }

  /** Hands `message` to the handlers; false when this transport is not running and the message is lost. */
  deliver(message: Message<C>): boolean {
    if (!this.running) return false;
    for (const handler of this.handlers) handler(message);
    return true;
  }

  async start(): Promise<void> {
    this.running = true;
  }

  async stop(): Promise<void> {
    this.running = false;
  }
}

/** `decoded`, with the snapshot data of `original` when it is an InstallSnapshot (the codec leaves it out). */
function withDataOf<C>(original: Message<C>, decoded: Message<C>): Message<C> {
  if (original.type !== 'InstallSnapshot' || decoded.type !== 'InstallSnapshot') return decoded;
  return { ...decoded, snapshot: { ...decoded.snapshot, data: original.snapshot.data } };
}

function linkKey(from: NodeId, to: NodeId): string {
  return JSON.stringify([from, to]);
}
