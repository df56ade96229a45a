/**
 * A `Storage` on disk: a segmented write-ahead log (segments.ts, frame.ts, record.ts) with group commit.
 *
 * Every persist call encodes its record at once and joins a queue. A single flusher writes the whole queue as
 * one batch, with one write and one fdatasync, then resolves the batch's calls in order; calls that arrive
 * while a sync is in flight gather into the next batch. So under load the cost of a sync is shared by every
 * caller waiting for it, and with a single caller nothing waits for anything but its own sync.
 *
 * Truncation is a record, not a rewrite: replay applies it. Segments whose entries were all truncated or that
 * hold only superseded hard states stay on disk until log compaction (snapshots) learns to delete them.
 *
 * After a failed write or sync the storage stops for good: the file may hold part of a batch, and appending
 * after it would turn a torn tail into corruption in the middle of the log. Reopening recovers.
 */
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Durable } from '../../core/index.js';
import { invariant } from '../../core/invariant.js';
import { type CommandCodec, jsonCodec } from '../binary.js';
import { encodeFrame } from './frame.js';
import { acquireLock, type DirectoryLock } from './lock.js';
import { encodePersistRecord, isEmptyPersist } from './record.js';
import { recover } from './recovery.js';
import { segmentPath } from './segments.js';
import { lastIndexAfter, type PersistEffect, type Storage } from './storage.js';

export interface DiskStorageOptions<C> {
  /** How commands become bytes. Default: JSON. */
  readonly codec?: CommandCodec<C>;
  /** A new segment is started before a batch that would take the current one past this size. Default 64 MiB. */
  readonly segmentBytes?: number;
}

export interface DiskStorageStats {
  /** fdatasync calls that made batches durable: one per batch. */
  syncs: number;
  /** Records written (one per non-empty persist). */
  records: number;
  /** Bytes written to segments. */
  bytes: number;
}

interface Pending {
  readonly frame: Uint8Array | null;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

interface OpenSegment {
  number: number;
  handle: FileHandle;
  length: number;
}

type Phase = 'new' | 'loading' | 'open' | 'failed' | 'closed';

export class DiskStorage<C> implements Storage<C> {
  readonly stats: DiskStorageStats = { syncs: 0, records: 0, bytes: 0 };
  readonly #dir: string;
  readonly #codec: CommandCodec<C>;
  readonly #segmentBytes: number;
  #phase: Phase = 'new';
  #failure: Error | null = null;
  #lock: DirectoryLock | null = null;
  #segment: OpenSegment | null = null;
  /** The last index once every queued persist is applied: persists are checked against it when called. */
  #lastIndex = 0;
  #queue: Pending[] = [];
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
  }

  /**
   * Locks the directory, replays the log and cuts a torn tail. If the log is corrupt it rejects with a
   * `StorageCorruptionError`, modifies no file and releases the lock.
   */
  async load(): Promise<Durable<C>> {
    if (this.#phase !== 'new') throw new Error(`DiskStorage: load called when ${this.#phase}`);
    this.#phase = 'loading';
    try {
      await makeDirectoryDurably(this.#dir);
      this.#lock = await acquireLock(this.#dir);
      const recovered = await recover(this.#dir, this.#codec);
      if (recovered.last === null) {
        this.#segment = await this.#createSegment(1);
      } else {
        const { segment, length } = recovered.last;
        const handle = await open(segment.path, 'a');
        this.#segment = { number: segment.number, handle, length };
        if (recovered.tornTailAt !== null) {
          await handle.truncate(recovered.tornTailAt);
          await handle.datasync();
        }
      }
      this.#lastIndex = recovered.log.lastIndex;
      this.#phase = 'open';
      // The recovered log is dropped here, so its entries can be handed out without a copy.
      return { hardState: recovered.log.hardState, entries: recovered.log.entries };
    } catch (error) {
      await this.#releaseResources();
      this.#phase = 'closed';
      throw error;
    }
  }

  persist(effect: PersistEffect<C>): Promise<void> {
    if (this.#phase !== 'open') return Promise.reject(this.#unavailableError());
    let frame: Uint8Array | null = null;
    try {
      const lastIndex = lastIndexAfter(this.#lastIndex, effect);
      if (!isEmptyPersist(effect)) frame = encodeFrame(encodePersistRecord(effect, this.#codec));
      this.#lastIndex = lastIndex;
    } catch (error) {
      return Promise.reject(error);
    }
    // An empty persist writes nothing but still queues, so that it resolves after every earlier call.
    return new Promise((resolve, reject) => {
      this.#queue.push({ frame, resolve, reject });
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
    await this.#releaseResources();
  }

  async #flush(): Promise<void> {
    // Start on a later tick, so that every persist called in the current one joins the first batch.
    await Promise.resolve();
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      try {
        await this.#writeBatch(batch);
      } catch (error) {
        this.#fail(error as Error, batch);
        break;
      }
      for (const pending of batch) pending.resolve();
    }
    this.#flushing = null;
  }

  async #writeBatch(batch: readonly Pending[]): Promise<void> {
    const frames = batch.flatMap((pending) => (pending.frame === null ? [] : [pending.frame]));
    if (frames.length === 0) return;
    const bytes = Buffer.concat(frames);
    let segment = this.#segment;
    invariant(segment !== null, 'DiskStorage: writing without an open segment');
    if (segment.length > 0 && segment.length + bytes.length > this.#segmentBytes) {
      await segment.handle.close();
      this.#segment = null;
      segment = this.#segment = await this.#createSegment(segment.number + 1);
    }
    let written = 0;
    while (written < bytes.length) {
      // A regular file takes the whole buffer in one call; the loop only covers the rare short write.
      const { bytesWritten } = await segment.handle.write(bytes, written);
      written += bytesWritten;
    }
    segment.length += bytes.length;
    await segment.handle.datasync();
    this.stats.syncs++;
    this.stats.records += frames.length;
    this.stats.bytes += bytes.length;
  }

  /** A new, empty segment whose name is durable in the directory before anything is written to it. */
  async #createSegment(number: number): Promise<OpenSegment> {
    const handle = await open(segmentPath(this.#dir, number), 'ax');
    try {
      await syncDirectory(this.#dir);
    } catch (error) {
      await handle.close();
      throw error;
    }
    return { number, handle, length: 0 };
  }

  #fail(error: Error, batch: readonly Pending[]): void {
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
    const segment = this.#segment;
    const lock = this.#lock;
    this.#segment = null;
    this.#lock = null;
    await segment?.handle.close();
    await lock?.release();
  }
}

/** Creates `dir` (absolute) if needed, with every new directory entry synced, so the log cannot vanish with it. */
async function makeDirectoryDurably(dir: string): Promise<void> {
  const firstCreated = await mkdir(dir, { recursive: true });
  if (firstCreated === undefined) return;
  // Every directory from firstCreated down to dir is new, and each one's entry lives in its parent.
  for (let created = dir; ; created = dirname(created)) {
    await syncDirectory(dirname(created));
    if (created === resolve(firstCreated) || dirname(created) === created) return;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
