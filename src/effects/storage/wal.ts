/**
 * Appending to the write-ahead log's segments, and deleting the oldest ones once a snapshot covers them.
 *
 * A segment is covered by a snapshot when every entry any of its records wrote is at or below the snapshot's
 * index. Replay on top of that snapshot ignores such entries, so only the hard state in those records could
 * still matter: compaction first writes the current hard state into the open segment, then deletes the
 * covered segments oldest first, syncing the directory after each, so that a crash in the middle leaves the
 * remaining segments numbered without a gap.
 */
import { type FileHandle, open, rm } from 'node:fs/promises';
import { invariant } from '../../core/invariant.js';
import { syncDirectory, writeFully } from './durable-fs.js';
import { segmentPath } from './layout.js';
import type { RecoveredSegment } from './recovery.js';

export interface WalStats {
  /** fdatasync calls on segments. */
  syncs: number;
  /** Records written. */
  records: number;
  /** Bytes written to segments. */
  bytes: number;
  /** What the segments take on disk now. */
  walBytesOnDisk: number;
}

interface SegmentState {
  readonly number: number;
  length: number;
  lastEntryIndex: number;
}

export class WalWriter {
  readonly #dir: string;
  readonly #segmentBytes: number;
  readonly #stats: WalStats;
  /** Every segment on disk, oldest first; the last one is open for appending. */
  readonly #segments: SegmentState[];
  #handle: FileHandle | null;

  private constructor(
    dir: string,
    segmentBytes: number,
    stats: WalStats,
    segments: SegmentState[],
    handle: FileHandle,
  ) {
    this.#dir = dir;
    this.#segmentBytes = segmentBytes;
    this.#stats = stats;
    this.#segments = segments;
    this.#handle = handle;
    stats.walBytesOnDisk = segments.reduce((sum, segment) => sum + segment.length, 0);
  }

  /** Opens the last recovered segment for appending, cut at `cutTailAt`; or creates the first one. */
  static async open(
    dir: string,
    segmentBytes: number,
    stats: WalStats,
    recovered: { readonly segments: readonly RecoveredSegment[]; readonly cutTailAt: number | null },
  ): Promise<WalWriter> {
    const last = recovered.segments.at(-1);
    if (last === undefined) {
      const handle = await createSegment(dir, 1);
      return new WalWriter(dir, segmentBytes, stats, [{ number: 1, length: 0, lastEntryIndex: 0 }], handle);
    }
    const handle = await open(last.path, 'a');
    if (recovered.cutTailAt !== null) {
      await handle.truncate(recovered.cutTailAt);
      await handle.datasync();
    }
    const segments = recovered.segments.map(({ number, length, lastEntryIndex }) => ({
      number,
      length,
      lastEntryIndex,
    }));
    return new WalWriter(dir, segmentBytes, stats, segments, handle);
  }

  /**
   * Writes the frames as one batch with one fdatasync, in a new segment if they would take the open one past
   * the size limit. `lastEntryIndex` is the highest entry index they write (0 if none).
   */
  async append(frames: readonly Uint8Array[], lastEntryIndex: number): Promise<void> {
    const bytes = Buffer.concat(frames);
    let segment = this.#segments.at(-1)!;
    if (segment.length > 0 && segment.length + bytes.length > this.#segmentBytes) {
      await this.#openHandle().close();
      this.#handle = null;
      this.#handle = await createSegment(this.#dir, segment.number + 1);
      segment = { number: segment.number + 1, length: 0, lastEntryIndex: 0 };
      this.#segments.push(segment);
    }
    const handle = this.#openHandle();
    await writeFully(handle, bytes, null);
    segment.length += bytes.length;
    segment.lastEntryIndex = Math.max(segment.lastEntryIndex, lastEntryIndex);
    await handle.datasync();
    this.#stats.syncs++;
    this.#stats.records += frames.length;
    this.#stats.bytes += bytes.length;
    this.#stats.walBytesOnDisk += bytes.length;
  }

  /**
   * Deletes the oldest segments that a snapshot at `snapshotIndex` covers, never the open one. `checkpoint` is
   * a record of the current hard state, written first so that the hard state survives the deleted segments.
   */
  async compact(snapshotIndex: number, checkpoint: () => Uint8Array): Promise<void> {
    const sealed = this.#segments.slice(0, -1);
    const firstNeeded = sealed.findIndex((segment) => segment.lastEntryIndex > snapshotIndex);
    const deletable = firstNeeded === -1 ? sealed.length : firstNeeded;
    if (deletable === 0) return;
    await this.append([checkpoint()], 0);
    for (const segment of this.#segments.splice(0, deletable)) {
      await rm(segmentPath(this.#dir, segment.number));
      await syncDirectory(this.#dir);
      this.#stats.walBytesOnDisk -= segment.length;
    }
    invariant(this.#segments.length > 0, 'compaction deleted the open segment');
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = null;
    await handle?.close();
  }

  #openHandle(): FileHandle {
    invariant(this.#handle !== null, 'WalWriter: writing without an open segment');
    return this.#handle;
  }
}

/** A new, empty segment whose name is durable in the directory before anything is written to it. */
async function createSegment(dir: string, number: number): Promise<FileHandle> {
  const handle = await open(segmentPath(dir, number), 'ax');
  try {
    await syncDirectory(dir);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return handle;
}
