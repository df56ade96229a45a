/**
 * How a runtime carries a snapshot's data (CONTRACT.md, Widening 1, rules 10–13) without ever holding it whole
 * in memory. The core never reads `Snapshot.data`; in pureraft's own runtime it is a `SnapshotRef`: a small,
 * serializable reference to bytes that a `SnapshotStore` holds. The data moves as chunks:
 *
 * - Taking a snapshot: the state machine streams its state into `store.create()`; `finish()` gives the ref;
 *   the runtime steps `{ type: 'snapshot', index, data: ref }`; the core's `persist` with that snapshot makes
 *   storage keep it (atomically) as the latest, and compact the log.
 * - Sending one: the transport reads the latest snapshot's chunks from `store.read(snapshot)` at its own pace.
 * - Receiving one: the transport writes the arriving chunks into `store.create()`, checks the whole against the
 *   sender's checksum, and only then hands the core one `InstallSnapshot` whose data is the local ref.
 * - Restoring: the runtime feeds `store.read(snapshot)` to the state machine.
 *
 * A ref that no `persist` carries (a received snapshot the core found stale, an aborted transfer) is garbage,
 * but only its holder knows when it is: the store keeps it until the holder calls `release` (or `abort` on its
 * writer), or until the store is closed or reopened. A store never deletes it because a newer snapshot was
 * persisted meanwhile: a received snapshot may still be on its way to the core then.
 */
import type { Snapshot } from '../core/index.js';

export interface SnapshotRef {
  readonly kind: 'snapshot-ref';
  /** The store's name for the bytes (a file name inside the data directory, for the disk store). */
  readonly name: string;
  /** Length of the data in bytes. */
  readonly bytes: number;
  /** CRC-32 (see `crc32` in storage/frame.ts) of the data. */
  readonly crc32: number;
}

export function isSnapshotRef(data: unknown): data is SnapshotRef {
  if (typeof data !== 'object' || data === null) return false;
  const ref = data as Partial<SnapshotRef>;
  return (
    ref.kind === 'snapshot-ref' &&
    typeof ref.name === 'string' &&
    Number.isSafeInteger(ref.bytes) &&
    Number.isSafeInteger(ref.crc32)
  );
}

/** Where new snapshot data is written; nothing is kept until a `persist` carries the ref `finish` gave. */
export interface SnapshotWriter {
  /** Appends a chunk; resolves once it has been handed to the file (not necessarily synced). */
  write(chunk: Uint8Array): Promise<void>;
  /** Closes the data (synced to disk before it resolves) and returns its ref. */
  finish(): Promise<SnapshotRef>;
  /** Throws the data away. Safe to call at any time, also after `finish`. */
  abort(): Promise<void>;
}

export interface SnapshotStore {
  create(): SnapshotWriter;
  /**
   * The holder of `ref` (from a writer's `finish`) will not persist it: its data is deleted, unless a persist
   * carries it or it is the current snapshot's (then nothing happens). Safe to call more than once.
   */
  release(ref: SnapshotRef): Promise<void>;
  /** The data of a snapshot this store holds (the latest persisted or loaded, or one just written), in chunks. */
  read(snapshot: Snapshot): AsyncIterable<Uint8Array>;
}
