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
 *   3. the file is renamed to `snapshot-<index>.snap` and the directory synced: the commit point; then STATE
 *      takes the hard state (not before: it would outlive a crash that cuts the record);
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
 * The hard state is also kept in STATE (state-file.ts), written after the batch whose record changed it is
 * synced; recovery takes the newer of the two. Each batch's header write vouches for the batch before it
 * (wal.ts); after `idleMarkMs` without writes, and on close, the header is brought up to date by itself, so a
 * quiet log is protected to its last byte.
 *
 * After a failed write or sync the storage refuses persists: the file may hold part of a batch, and appending
 * after it would turn a torn tail into corruption in the middle of the log. `reopen` tries again: it checks that
 * the disk takes writes again, then recovers, replaying only what this process knows was synced.
 */
import { open, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Durable, HardState } from '../../core/index.js';
import { invariant } from '../../core/invariant.js';
import { type CommandCodec, jsonCodec } from '../binary.js';
import { type Claim, DiskSnapshotStore } from './disk-snapshots.js';
import { makeDirectoryDurably, removeDurably, syncDirectory, writeFully } from './durable-fs.js';
import { encodeFrame } from './frame.js';
import { unfinishedPath } from './layout.js';
import { acquireLock, type DirectoryLock } from './lock.js';
import { encodePersistRecord, isEmptyPersist } from './record.js';
import { recover } from './recovery.js';
import { newIncarnation, StateFile } from './state-file.js';
import {
  boundsAfter,
  initialHardState,
  type LogBounds,
  type PersistEffect,
  type Storage,
} from './storage.js';
import { type SyncedEnd, type WalStats, WalWriter } from './wal.js';
import { writing } from './write-error.js';

export interface DiskStorageOptions<C> {
  /** How commands become bytes. Default: JSON. */
  readonly codec?: CommandCodec<C>;
  /** A new segment is started before a batch that would take the current one past this size. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** After this long without a write, the open segment's header is brought up to date (wal.ts). Default 100. */
  readonly idleMarkMs?: number;
}

/** What `reopen` writes and syncs first, to see that the disk takes writes again. */
const PROBE_BYTES = 256 * 1024;

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

type Phase = 'new' | 'loading' | 'open' | 'failed' | 'reopening' | 'closed';

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
  readonly #idleMarkMs: number;
  #phase: Phase = 'new';
  #failure: Error | null = null;
  /** How far the log was synced when a write failed: `reopen` replays nothing past it. */
  #trustedEnd: SyncedEnd | null = null;
  /** The batch being written passed its commit point (a snapshot's rename): it stands even if a later step fails. */
  #batchCommitted = false;
  #lock: DirectoryLock | null = null;
  #wal: WalWriter | null = null;
  #state: StateFile | null = null;
  #incarnation: string | null = null;
  #createdNew = false;
  /** When the last batch was written, and the timer that brings the header up to date once things are quiet. */
  #lastWriteAt = 0;
  #idleTimer: NodeJS.Timeout | null = null;
  #markDue = false;
  /** The bounds once every queued persist is applied: persists are checked against them when called. */
  #bounds: LogBounds = { snapshotIndex: 0, lastIndex: 0 };
  /** The hard state as written to the log so far: compaction writes it again before deleting segments. */
  #writtenHardState: HardState = initialHardState;
  #queue: Pending<C>[] = [];
  /** The running flusher, if any; it drains the queue and then ends. */
  #flushing: Promise<void> | null = null;
  #closing: Promise<void> | null = null;
  /** The last reopen, settled either way. */
  #reopening: Promise<void> = Promise.resolve();

  constructor(dir: string, options: DiskStorageOptions<C> = {}) {
    const segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 1) {
      throw new RangeError(`segmentBytes must be a positive integer, got ${segmentBytes}`);
    }
    this.#dir = resolve(dir);
    this.#codec = options.codec ?? jsonCodec<C>();
    this.#segmentBytes = segmentBytes;
    this.#idleMarkMs = options.idleMarkMs ?? 100;
    this.snapshots = new DiskSnapshotStore(this.#dir);
  }

  /** The data directory's incarnation id (state-file.ts); known once loaded. */
  get incarnation(): string {
    invariant(this.#incarnation !== null, 'DiskStorage: the incarnation is known once loaded');
    return this.#incarnation;
  }

  /** Whether `load` made the directory new: nothing of it existed before (or only what a crash left of that). */
  get createdNew(): boolean {
    return this.#createdNew;
  }

  /** Why persists are refused, once a write failed and until `reopen` succeeds; null otherwise. */
  get failure(): Error | null {
    return this.#phase === 'failed' || this.#phase === 'reopening' ? this.#failure : null;
  }

  /**
   * Locks the directory, loads the current snapshot, replays the log, cuts a torn or uncommitted tail and
   * deletes leftover files. If anything is corrupt it rejects with a `StorageCorruptionError`, modifies no file
   * and releases the lock.
   */
  async load(): Promise<Durable<C>> {
    if (this.#phase !== 'new') throw new Error(`DiskStorage: load called when ${this.#phase}`);
    this.#phase = 'loading';
    try {
      await makeDirectoryDurably(this.#dir);
      this.#lock = await acquireLock(this.#dir);
      return await this.#open(null);
    } catch (error) {
      await this.#releaseResources();
      this.#phase = 'closed';
      throw error;
    }
  }

  /**
   * After a failed write: checks that the disk takes a write and a sync again, then recovers as `load` does,
   * keeping the lock, and replaying only what was synced before the failure. Resolves with the durable state
   * (what every acknowledged persist made, and nothing a failed one did); rejects, still failed, if the disk
   * does not take writes yet. `snapshots` stays the same store (others may hold it), stopped and started again
   * on the current snapshot: data written through it before and not made current is gone.
   */
  reopen(): Promise<Durable<C>> {
    if (this.#phase !== 'failed') {
      return Promise.reject(new Error(`DiskStorage: reopen called when ${this.#phase}`));
    }
    this.#phase = 'reopening';
    const reopening = this.#reopen();
    this.#reopening = reopening.then(
      () => {},
      () => {},
    );
    return reopening;
  }

  async #reopen(): Promise<Durable<C>> {
    try {
      await this.#flushing;
      await this.snapshots.stop();
      await this.#closeFiles();
      await probeWrites(this.#dir);
      return await this.#open(this.#trustedEnd, this.#writtenHardState);
    } catch (error) {
      await this.#closeFiles();
      if (this.#phase === 'reopening') this.#phase = 'failed';
      throw error;
    }
  }

  async #open(trustedEnd: SyncedEnd | null, trustedHardState: HardState | null = null): Promise<Durable<C>> {
    const recovered = await recover(this.#dir, this.#codec, trustedEnd, trustedHardState);
    const { log, snapshotFile, stored } = recovered;
    // Before anything is made: a segment a crash left may have the name the first new one takes.
    await removeDurably(this.#dir, recovered.leftovers);
    const incarnation = stored?.state.incarnation ?? newIncarnation();
    const walOptions = { segmentBytes: this.#segmentBytes, stats: this.stats, incarnation };
    this.#wal = await WalWriter.open(this.#dir, walOptions, recovered);
    if (stored === null) {
      // After the first segment: a STATE file says the log exists.
      this.#state = await StateFile.create(this.#dir, { incarnation, hardState: log.hardState });
      this.#createdNew = true;
    } else {
      // Written and synced whatever it held: the log's hard state is newer when a crash came between its sync
      // and STATE's write, and what was read may be pages a kill -9 or a failed sync left unsynced.
      this.#state = await StateFile.open(this.#dir, stored);
      await this.#state.write(log.hardState);
    }
    await this.#makeRecoveredDurable(recovered.segments);
    this.#incarnation = incarnation;
    this.snapshots.start(snapshotFile);
    this.stats.snapshotBytesOnDisk = snapshotFile === null ? 0 : (await stat(snapshotFile.path)).size;
    this.#bounds = { snapshotIndex: log.snapshotIndex, lastIndex: log.lastIndex };
    this.#writtenHardState = log.hardState;
    this.#failure = null;
    this.#trustedEnd = null;
    this.#phase = 'open';
    // The recovered log is dropped here, so its entries can be handed out without a copy.
    const { hardState, entries, latestSnapshot: snapshot } = log;
    return snapshot === undefined ? { hardState, entries } : { hardState, entries, snapshot };
  }

  /**
   * Recovery read files and names that may be only in the page cache (a kill -9 during a sync, a sync that
   * failed before a reopen): a seal, a renamed snapshot or STATE, a new segment. Whatever it accepted is synced
   * now, before anything new is acknowledged on top of it, so that a power loss cannot take it back. (The last
   * segment and STATE were synced by their own opening.)
   */
  async #makeRecoveredDurable(segments: readonly { readonly path: string }[]): Promise<void> {
    for (const { path } of segments.slice(0, -1)) {
      await writing(path, 'sync', async () => {
        const handle = await open(path, 'r');
        try {
          await handle.datasync();
        } finally {
          await handle.close();
        }
      });
    }
    await writing(this.#dir, 'sync', () => syncDirectory(this.#dir));
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
    // A reopen under way finishes first, whatever its outcome: it opens files, and close must close them.
    if (this.#phase === 'reopening') return this.#reopening.then(() => this.close());
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const wasOpen = this.#phase === 'open';
    this.#phase = 'closed';
    this.#stopIdleTimer();
    await this.#flushing;
    // Vouches for the last batch too. Failing here loses nothing: that batch is synced, only not vouched for.
    if (wasOpen && this.#failure === null) await this.#wal?.markSynced().catch(() => false);
    await this.snapshots.stop();
    await this.#releaseResources();
  }

  async #flush(): Promise<void> {
    // Start on a later tick, so that every persist called in the current one joins the first batch.
    await Promise.resolve();
    while (this.#queue.length > 0 || this.#markDue) {
      if (this.#queue.length === 0) {
        this.#markDue = false;
        try {
          if (await this.#openWal().markSynced()) this.#lastWriteAt = Date.now();
        } catch (error) {
          this.#fail(error as Error, []);
          break;
        }
        continue;
      }
      const batch = this.#takeBatch();
      // A batch that fails is rejected, so `reopen` must not replay it, though its records may be synced (STATE's
      // write failed after the log's sync, say): it trusts the log only as far as it was synced before the
      // batch. Unless the batch passed its commit point (a snapshot's rename): then it stands, failed or not.
      const syncedBefore = this.#wal?.syncedEnd ?? null;
      this.#batchCommitted = false;
      try {
        const first = batch[0]!;
        if (first.claim !== null) await this.#writeSnapshot(first, first.claim);
        else await this.#writeBatch(batch);
      } catch (error) {
        this.#fail(error as Error, batch, this.#batchCommitted ? undefined : syncedBefore);
        break;
      }
      this.#lastWriteAt = Date.now();
      for (const pending of batch) pending.resolve();
    }
    this.#flushing = null;
    if (this.#phase === 'open') this.#armIdleTimer(this.#idleMarkMs);
  }

  /** Marks the log synced once nothing was written for `idleMarkMs` (see this file's header). */
  #armIdleTimer(delay: number): void {
    if (this.#idleTimer !== null) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = null;
      if (this.#phase !== 'open') return;
      const quietFor = Date.now() - this.#lastWriteAt;
      if (quietFor < this.#idleMarkMs) {
        this.#armIdleTimer(this.#idleMarkMs - quietFor);
        return;
      }
      this.#markDue = true;
      this.#flushing ??= this.#flush();
    }, delay);
    this.#idleTimer.unref();
  }

  #stopIdleTimer(): void {
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
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
    await this.#wrote(batch.map((pending) => pending.effect));
  }

  /** The barrier: see the steps in this file's header. */
  async #writeSnapshot(pending: Pending<C>, claim: Claim): Promise<void> {
    const { effect, frame } = pending;
    invariant(effect.snapshot !== undefined && frame !== null, 'a snapshot persist without its snapshot');
    const { meta } = effect.snapshot;
    const fileBytes = await this.snapshots.seal(claim, meta);
    await this.#openWal().append([frame], lastEntryIndexOf(effect));
    await this.snapshots.install(claim, meta, () => {
      this.#batchCommitted = true;
    });
    // STATE only after the commit point: recovery takes the newer of STATE's hard state and the log's, so one
    // written before the rename would outlive a crash that cuts the record, and pair this persist's term with
    // the log before it. After the rename the record stands, and recovery brings STATE up to it if need be.
    await this.#wrote([effect]);
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

  /** After the log took these effects' records: STATE takes the last hard state among them, if any. */
  async #wrote(effects: readonly PersistEffect<C>[]): Promise<void> {
    const hardState = effects.findLast((effect) => effect.hardState !== undefined)?.hardState;
    if (hardState === undefined) return;
    invariant(this.#state !== null, 'DiskStorage: writing without an open STATE');
    await this.#state.write(hardState);
    this.#writtenHardState = hardState;
  }

  /** `trusted`: how far the log may be replayed on `reopen`; by default, as far as it was synced. */
  #fail(error: Error, batch: readonly Pending<C>[], trusted?: SyncedEnd | null): void {
    this.#failure = error;
    this.#trustedEnd = trusted !== undefined ? trusted : (this.#wal?.syncedEnd ?? null);
    this.#stopIdleTimer();
    this.#markDue = false;
    if (this.#phase === 'open') this.#phase = 'failed';
    const stranded = [...batch, ...this.#queue];
    this.#queue = [];
    for (const pending of stranded) pending.reject(this.#unavailableError());
  }

  /** Why a persist cannot be taken now. */
  #unavailableError(): Error {
    if (this.#failure !== null) {
      return new Error(`DiskStorage: ${this.#failure.message}`, { cause: this.#failure });
    }
    return new Error(`DiskStorage: persist when ${this.#phase}`);
  }

  async #closeFiles(): Promise<void> {
    const wal = this.#wal;
    const state = this.#state;
    this.#wal = null;
    this.#state = null;
    await Promise.allSettled([wal?.close(), state?.close()]);
  }

  async #releaseResources(): Promise<void> {
    await this.#closeFiles();
    const lock = this.#lock;
    this.#lock = null;
    await lock?.release();
  }
}

function lastEntryIndexOf(effect: PersistEffect<unknown>): number {
  return effect.entries?.at(-1)?.index ?? 0;
}

/** Writes PROBE_BYTES to a scratch file, syncs and deletes it: throws, naming the cause, if the disk refuses. */
async function probeWrites(dir: string): Promise<void> {
  const path = unfinishedPath(join(dir, 'probe'));
  try {
    await writing(path, 'write', async () => {
      const handle = await open(path, 'w');
      try {
        await writeFully(handle, new Uint8Array(PROBE_BYTES), 0);
        await handle.datasync();
      } finally {
        await handle.close();
      }
    });
  } finally {
    await rm(path, { force: true });
  }
}
