/**
 * A `Storage` on disk: a segmented write-ahead log (wal.ts, frame.ts, record.ts) with group commit, and
 * snapshots in files beside it (disk-snapshots.ts, snapshot-file.ts), in one directory (layout.ts).
 *
 * Every persist call encodes its record at once and joins a queue. A single flusher writes the queue as
 * batches, each with one write and one fdatasync, then resolves the batch's calls in order; calls that arrive
 * while a sync is in flight gather into the next batch. So under load the cost of a sync is shared by every
 * caller waiting for it, and with a single caller nothing waits for anything but its own sync.
 *
 * A persist with a snapshot is a barrier: it is written alone, after every earlier call is durable and before
 * any later one is written, in this order, each step durable before the next:
 *   1. the snapshot file gets its trailer (its data was synced when it was finished);
 *   2. the persist's record goes to the log: its hard state, the snapshot's index, its truncation and entries;
 *   3. the file is renamed to `snapshot-<index>.snap` and the directory synced: the commit point;
 *   4. compaction: the replaced snapshot file, and the log segments the snapshot covers, are deleted.
 * Recovery takes the newest snapshot file as current and replays the log on top of it. After a crash before
 * step 3 the newest file is the old one, and the record of step 2 names a newer snapshot: it is the last record
 * (nothing is written during a barrier), and recovery cuts it, so the persist is lost whole. After step 3 the
 * record applies, and the persist is there whole. So every crash recovers the state after some prefix of the
 * persist calls, as without snapshots; and the hard state is never behind the snapshot, nor the entries after
 * it ahead of their truncation.
 *
 * Truncation is a record, not a rewrite: replay applies it. A segment goes once a snapshot covers it.
 *
 * After a failed write or sync the storage stops for good: the file may hold part of a batch, and appending
 * after it would turn a torn tail into corruption in the middle of the log. Reopening recovers.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Durable, HardState } from '../../core/index.js';
import { invariant } from '../../core/invariant.js';
import { type CommandCodec, jsonCodec } from '../binary.js';
import { type Claim, DiskSnapshotStore } from './disk-snapshots.js';
import { makeDirectoryDurably, removeDurably } from './durable-fs.js';
import { encodeFrame } from './frame.js';
import { acquireLock, type DirectoryLock } from './lock.js';
import { encodePersistRecord, isEmptyPersist } from './record.js';
import { recover } from './recovery.js';
import {
  boundsAfter,
  initialHardState,
  type LogBounds,
  type PersistEffect,
  type Storage,
} from './storage.js';
import { type WalStats, WalWriter } from './wal.js';

export interface DiskStorageOptions<C> {
  /** How commands become bytes. Default: JSON. */
  readonly codec?: CommandCodec<C>;
  /** A new segment is started before a batch that would take the current one past this size. Default 64 MiB. */
  readonly segmentBytes?: number;
}

export interface DiskStorageStats extends WalStats {
  /** Snapshots that persists made current. */
  snapshots: number;
  /** Bytes of data of those snapshots. */
  snapshotBytes: number;
  /** What the current snapshot's file takes on disk now, trailer included; 0 when there is none. */
  snapshotBytesOnDisk: number;
}

interface Pending<C> {
  readonly effect: PersistEffect<C>;
  readonly frame: Uint8Array | null;
  /** The snapshot data a persist with a snapshot carries: such a persist is a barrier. */
  readonly claim: Claim | null;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

type Phase = 'new' | 'loading' | 'open' | 'failed' | 'closed';

export class DiskStorage<C> implements Storage<C> {
  readonly stats: DiskStorageStats = {
    syncs: 0,
    records: 0,
    bytes: 0,
    walBytesOnDisk: 0,
    snapshots: 0,
    snapshotBytes: 0,
    snapshotBytesOnDisk: 0,
  };
  readonly snapshots: DiskSnapshotStore;
  readonly #dir: string;
  readonly #codec: CommandCodec<C>;
  readonly #segmentBytes: number;
  #phase: Phase = 'new';
  #failure: Error | null = null;
  #lock: DirectoryLock | null = null;
  #wal: WalWriter | null = null;
  /** The bounds once every queued persist is applied: persists are checked against them when called. */
  #bounds: LogBounds = { snapshotIndex: 0, lastIndex: 0 };
  /** The hard state as written to the log so far: compaction writes it again before deleting segments. */
  #writtenHardState: HardState = initialHardState;
  #queue: Pending<C>[] = [];
  /** The running flusher, if any; it drains the queue and then ends. */
  #flushing: Promise<void> | null = null;
  #closing: Promise<void> | null = null;

  constructor(dir: string, options: DiskStorageOptions<C> = {}) {
    const segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 1) {
      throw new RangeError(`segmentBytes must be a positive integer, got ${segmentBytes}`);
    }
    this.#dir = resolve(dir);
    this.#codec = options.codec ?? jsonCodec<C>();
    this.#segmentBytes = segmentBytes;
    this.snapshots = new DiskSnapshotStore(this.#dir);
  }

  /**
   * Locks the directory, loads the current snapshot, replays the log, cuts a torn or uncommitted tail and
   * deletes leftover snapshot files. If anything is corrupt it rejects with a `StorageCorruptionError`,
   * modifies no file and releases the lock.
   */
  async load(): Promise<Durable<C>> {
    if (this.#phase !== 'new') throw new Error(`DiskStorage: load called when ${this.#phase}`);
    this.#phase = 'loading';
    try {
      await makeDirectoryDurably(this.#dir);
      this.#lock = await acquireLock(this.#dir);
      const recovered = await recover(this.#dir, this.#codec);
      this.#wal = await WalWriter.open(this.#dir, this.#segmentBytes, this.stats, recovered);
      await removeDurably(this.#dir, recovered.leftovers);
      const { log, snapshotFile } = recovered;
      this.snapshots.start(snapshotFile);
      if (snapshotFile !== null) this.stats.snapshotBytesOnDisk = (await stat(snapshotFile.path)).size;
      this.#bounds = { snapshotIndex: log.snapshotIndex, lastIndex: log.lastIndex };
      this.#writtenHardState = log.hardState;
      this.#phase = 'open';
      // The recovered log is dropped here, so its entries can be handed out without a copy.
      const { hardState, entries, latestSnapshot: snapshot } = log;
      return snapshot === undefined ? { hardState, entries } : { hardState, entries, snapshot };
    } catch (error) {
      await this.#releaseResources();
      this.#phase = 'closed';
      throw error;
    }
  }

  persist(effect: PersistEffect<C>): Promise<void> {
    if (this.#phase !== 'open') return Promise.reject(this.#unavailableError());
    let frame: Uint8Array | null = null;
    let claim: Claim | null = null;
    try {
      const bounds = boundsAfter(this.#bounds, effect);
      if (!isEmptyPersist(effect)) frame = encodeFrame(encodePersistRecord(effect, this.#codec));
      // Last, since it cannot be undone: from here on the data belongs to this persist.
      if (effect.snapshot !== undefined) claim = this.snapshots.claim(effect.snapshot.data);
      this.#bounds = bounds;
    } catch (error) {
      return Promise.reject(error);
    }
    // An empty persist writes nothing but still queues, so that it resolves after every earlier call.
    return new Promise((resolve, reject) => {
      this.#queue.push({ effect, frame, claim, resolve, reject });
      this.#flushing ??= this.#flush();
    });
  }

  /** Waits for queued persists, then closes the files and releases the lock. */
  close(): Promise<void> {
    if (this.#phase === 'loading') {
      return Promise.reject(new Error('DiskStorage: close called while load is running'));
    }
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#phase = 'closed';
    await this.#flushing;
    await this.snapshots.stop();
    await this.#releaseResources();
  }

  async #flush(): Promise<void> {
    // Start on a later tick, so that every persist called in the current one joins the first batch.
    await Promise.resolve();
    while (this.#queue.length > 0) {
      const batch = this.#takeBatch();
      try {
        const first = batch[0]!;
        if (first.claim !== null) await this.#writeSnapshot(first, first.claim);
        else await this.#writeBatch(batch);
      } catch (error) {
        this.#fail(error as Error, batch);
        break;
      }
      for (const pending of batch) pending.resolve();
    }
    this.#flushing = null;
  }

  /** The calls up to the next persist with a snapshot, or that persist alone if it is first. */
  #takeBatch(): Pending<C>[] {
    const barrier = this.#queue.findIndex((pending) => pending.claim !== null);
    const size = barrier === 0 ? 1 : barrier === -1 ? this.#queue.length : barrier;
    return this.#queue.splice(0, size);
  }

  async #writeBatch(batch: readonly Pending<C>[]): Promise<void> {
    const frames = batch.flatMap((pending) => (pending.frame === null ? [] : [pending.frame]));
    if (frames.length === 0) return;
    const lastEntryIndex = batch.reduce(
      (last, pending) => Math.max(last, lastEntryIndexOf(pending.effect)),
      0,
    );
    await this.#openWal().append(frames, lastEntryIndex);
    for (const { effect } of batch) this.#wrote(effect);
  }

  /** The barrier: see the steps in this file's header. */
  async #writeSnapshot(pending: Pending<C>, claim: Claim): Promise<void> {
    const { effect, frame } = pending;
    invariant(effect.snapshot !== undefined && frame !== null, 'a snapshot persist without its snapshot');
    const { meta } = effect.snapshot;
    const fileBytes = await this.snapshots.seal(claim, meta);
    await this.#openWal().append([frame], lastEntryIndexOf(effect));
    this.#wrote(effect);
    await this.snapshots.install(claim, meta);
    this.stats.snapshots++;
    this.stats.snapshotBytes += claim.ref.bytes;
    this.stats.snapshotBytesOnDisk = fileBytes;
    const checkpoint = () =>
      encodeFrame(encodePersistRecord({ type: 'persist', hardState: this.#writtenHardState }, this.#codec));
    await this.#openWal().compact(meta.index, checkpoint);
  }

  #openWal(): WalWriter {
    invariant(this.#wal !== null, 'DiskStorage: writing without an open log');
    return this.#wal;
  }

  #wrote(effect: PersistEffect<C>): void {
    if (effect.hardState !== undefined) this.#writtenHardState = effect.hardState;
  }

  #fail(error: Error, batch: readonly Pending<C>[]): void {
    this.#failure = error;
    if (this.#phase === 'open') this.#phase = 'failed';
    const stranded = [...batch, ...this.#queue];
    this.#queue = [];
    for (const pending of stranded) pending.reject(this.#unavailableError());
  }

  /** Why a persist cannot be taken now. */
  #unavailableError(): Error {
    if (this.#failure !== null) {
      const message = 'DiskStorage: persist failed: the log could not be written; reopen it to recover';
      return new Error(message, { cause: this.#failure });
    }
    return new Error(`DiskStorage: persist when ${this.#phase}`);
  }

  async #releaseResources(): Promise<void> {
    const wal = this.#wal;
    const lock = this.#lock;
    this.#wal = null;
    this.#lock = null;
    await wal?.close();
    await lock?.release();
  }
}

function lastEntryIndexOf(effect: PersistEffect<unknown>): number {
  return effect.entries?.at(-1)?.index ?? 0;
}
