/**
 * Appending to the write-ahead log's segments, and deleting the oldest ones once a snapshot covers them.
 *
 * Every segment begins with a header (segment-header.ts) that says how far it is known to be synced. A batch
 * is one positional write of its records and (at most every VOUCH_EVERY_MS) one of the header's older slot,
 * saying where the previous sync ended, then one fdatasync for both: a torn write can only ever be past the
 * offset the header names, and anything wrong before it is damage.
 *
 * A new segment is created whole (header included) under another name and renamed into place, and only then is
 * the one before it sealed (its header says it is complete): so a crash in between leaves an empty last segment
 * after an unsealed one, which recovery drops, and a missing last segment is always noticed.
 *
 * A segment is covered by a snapshot when every entry any of its records wrote is at or below the snapshot's
 * index. Replay on top of that snapshot ignores such entries, so only the hard state in those records could
 * still matter: compaction first writes the current hard state into the open segment, then deletes the
 * covered segments oldest first, syncing the directory after each, so that a crash in the middle leaves the
 * remaining segments numbered without a gap.
 */
import { type FileHandle, open, rm } from 'node:fs/promises';
import { invariant } from '../../core/invariant.js';
import { createFileDurably, syncDirectory, writeFullySync } from './durable-fs.js';
import { segmentPath } from './layout.js';
import type { RecoveredSegment } from './recovery.js';
import { encodeSegmentHeader, newSegmentBytes, SEGMENT_HEADER_BYTES } from './segment-header.js';
import { writing } from './write-error.js';

export interface WalStats {
  /** fdatasync calls on segments. */
  syncs: number;
  /** Records written. */
  records: number;
  /** Bytes of records written to segments. */
  bytes: number;
  /** What the segments take on disk now, headers included. */
  walBytesOnDisk: number;
}

interface SegmentState {
  readonly number: number;
  length: number;
  lastEntryIndex: number;
}

/** How far the log is known to be synced: the open segment, and the offset in it. */
export interface SyncedEnd {
  readonly segment: number;
  readonly length: number;
}

/** The open segment's header as last written: the sequence of that write, the offset it vouches for, when. */
interface HeaderState {
  sequence: number;
  syncedThrough: number;
  writtenAt: number;
}

/**
 * How often a batch also brings the header up to date, at most. What was synced since is vouched for by the
 * next such write, or by `markSynced` (a quiet moment, a clean close): until then damage to it looks like a
 * torn write (see segment-header.ts).
 */
export const VOUCH_EVERY_MS = 10;

export class WalWriter {
  readonly #dir: string;
  readonly #segmentBytes: number;
  readonly #stats: WalStats;
  readonly #incarnation: string;
  /** Every segment on disk, oldest first; the last one is open for appending. */
  readonly #segments: SegmentState[];
  #handle: FileHandle | null;
  #header: HeaderState;
  /** Bytes of the open segment synced so far. */
  #synced: number;

  private constructor(
    dir: string,
    options: { segmentBytes: number; stats: WalStats; incarnation: string },
    segments: SegmentState[],
    handle: FileHandle,
    header: HeaderState,
  ) {
    this.#dir = dir;
    this.#segmentBytes = options.segmentBytes;
    this.#stats = options.stats;
    this.#incarnation = options.incarnation;
    this.#segments = segments;
    this.#handle = handle;
    this.#header = header;
    this.#synced = segments.at(-1)!.length;
    options.stats.walBytesOnDisk = segments.reduce((sum, segment) => sum + segment.length, 0);
  }

  /**
   * Opens the last recovered segment for appending, cut at `cutTailAt`, with everything kept synced and the
   * header saying so (a process killed before its last sync may have left written, unsynced bytes that the
   * page cache still holds); or creates the first segment.
   */
  static async open(
    dir: string,
    options: { segmentBytes: number; stats: WalStats; incarnation: string },
    recovered: { readonly segments: readonly RecoveredSegment[]; readonly cutTailAt: number | null },
  ): Promise<WalWriter> {
    const last = recovered.segments.at(-1);
    if (last === undefined) {
      const handle = await createSegment(dir, options.incarnation, 1);
      const first = { number: 1, length: SEGMENT_HEADER_BYTES, lastEntryIndex: 0 };
      const header = { sequence: 1, syncedThrough: SEGMENT_HEADER_BYTES, writtenAt: 0 };
      return new WalWriter(dir, options, [first], handle, header);
    }
    const handle = await writing(last.path, 'open', () => open(last.path, 'r+'));
    const segments = recovered.segments.map(({ number, length, lastEntryIndex }) => ({
      number,
      length,
      lastEntryIndex,
    }));
    const wal = new WalWriter(dir, options, segments, handle, {
      sequence: last.headerSequence,
      syncedThrough: last.header.syncedThrough,
      writtenAt: 0,
    });
    try {
      await writing(last.path, 'cut', async () => {
        if (recovered.cutTailAt !== null) await handle.truncate(recovered.cutTailAt);
        await handle.datasync();
      });
      await wal.markSynced();
    } catch (error) {
      await handle.close();
      throw error;
    }
    return wal;
  }

  /** How far the log is known to be synced: past this, a failed write may have left anything. */
  get syncedEnd(): SyncedEnd {
    return { segment: this.#segments.at(-1)!.number, length: this.#synced };
  }

  /**
   * Writes the frames as one batch with one fdatasync, in a new segment if they would take the open one past
   * the size limit. `lastEntryIndex` is the highest entry index they write (0 if none).
   */
  async append(frames: readonly Uint8Array[], lastEntryIndex: number): Promise<void> {
    const bytes = Buffer.concat(frames);
    let segment = this.#segments.at(-1)!;
    if (segment.length > SEGMENT_HEADER_BYTES && segment.length + bytes.length > this.#segmentBytes) {
      segment = await this.#rollOver();
    }
    await this.#sync(false, bytes);
    segment.lastEntryIndex = Math.max(segment.lastEntryIndex, lastEntryIndex);
    this.#stats.records += frames.length;
    this.#stats.bytes += bytes.length;
    this.#stats.walBytesOnDisk += bytes.length;
  }

  /**
   * Makes the header vouch for everything synced, if it does not yet: one header write and one sync, for a
   * quiet moment or a clean close, so that the last batch is protected as well as the ones before it.
   * Returns whether it wrote anything.
   */
  async markSynced(): Promise<boolean> {
    if (this.#header.syncedThrough >= this.#synced) return false;
    await this.#sync(false, undefined, true);
    return true;
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
      const path = segmentPath(this.#dir, segment.number);
      await writing(path, 'delete', async () => {
        await rm(path);
        await syncDirectory(this.#dir);
      });
      this.#stats.walBytesOnDisk -= segment.length;
    }
    invariant(this.#segments.length > 0, 'compaction deleted the open segment');
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = null;
    await handle?.close();
  }

  /**
   * Appends `records` (if any) to the open segment and syncs it, with its header (when it lags) saying that
   * what was synced before is synced; or, to seal it, saying that all of it is and that a next segment exists.
   * Either way only what an earlier sync made durable is vouched for, so a crash during this one cannot make
   * the header claim a torn write. The two writes go out together (they touch different pages), then one sync.
   */
  async #sync(seal: boolean, records?: Uint8Array, vouchAll = false): Promise<void> {
    const segment = this.#segments.at(-1)!;
    const path = segmentPath(this.#dir, segment.number);
    const handle = this.#openHandle();
    const syncedThrough = this.#synced;
    let slot: { bytes: Uint8Array; offset: number } | undefined;
    if (seal || this.#vouchDue(vouchAll)) {
      const sequence = this.#header.sequence + 1;
      const header = { incarnation: this.#incarnation, number: segment.number, syncedThrough, sealed: seal };
      slot = encodeSegmentHeader(sequence, header);
      this.#header = { sequence, syncedThrough, writtenAt: Date.now() };
    }
    // Into the page cache on this thread (microseconds for a batch), so that the sync starts at once.
    await writing(path, 'write', async () => {
      if (records !== undefined) writeFullySync(handle, records, segment.length);
      if (slot !== undefined) writeFullySync(handle, slot.bytes, slot.offset);
    });
    segment.length += records?.length ?? 0;
    await writing(path, 'sync', () => handle.datasync());
    this.#stats.syncs++;
    this.#synced = segment.length;
  }

  /**
   * Whether a sync should bring the header up to date: when asked, and otherwise at most every VOUCH_EVERY_MS,
   * so that a stream of small batches (one client, each write its own sync) does not pay a second write for each.
   */
  #vouchDue(always: boolean): boolean {
    if (this.#header.syncedThrough >= this.#synced) return false;
    return always || Date.now() - this.#header.writtenAt >= VOUCH_EVERY_MS;
  }

  /**
   * Seals the open segment in both slots, one after the other, each synced: a sealed segment's length is known
   * only from its seal, so a single damaged slot must not lose it. Once per segment, so the second sync is cheap.
   */
  async #seal(): Promise<void> {
    await this.#sync(true);
    await this.#sync(true);
  }

  /** Creates the next segment, then seals the open one (its records are all synced): see the file header. */
  async #rollOver(): Promise<SegmentState> {
    const previous = this.#segments.at(-1)!;
    invariant(this.#synced === previous.length, 'rolling over a segment with unsynced records');
    const number = previous.number + 1;
    const handle = await createSegment(this.#dir, this.#incarnation, number);
    try {
      await this.#seal();
      await this.#openHandle().close();
    } catch (error) {
      await handle.close();
      throw error;
    }
    const segment = { number, length: SEGMENT_HEADER_BYTES, lastEntryIndex: 0 };
    this.#segments.push(segment);
    this.#handle = handle;
    this.#header = { sequence: 1, syncedThrough: SEGMENT_HEADER_BYTES, writtenAt: 0 };
    this.#synced = SEGMENT_HEADER_BYTES;
    this.#stats.walBytesOnDisk += SEGMENT_HEADER_BYTES;
    return segment;
  }

  #openHandle(): FileHandle {
    invariant(this.#handle !== null, 'WalWriter: writing without an open segment');
    return this.#handle;
  }
}

/** A new segment holding its header, whole and durable in the directory before anything else is written to it. */
async function createSegment(dir: string, incarnation: string, number: number): Promise<FileHandle> {
  const path = segmentPath(dir, number);
  await createFileDurably(path, newSegmentBytes(incarnation, number));
  return writing(path, 'open', () => open(path, 'r+'));
}
