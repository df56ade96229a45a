/**
 * Rebuilding the durable state on open: STATE, the current snapshot, then the write-ahead log replayed on top of
 * it, each segment checked against its header: a tail torn past the last sync is cut; a missing segment, a
 * sealed segment of the wrong length, or anything wrong before the last sync refuses to start, naming the file
 * and the offset. Recovery only reads: it reports what to cut and what to delete for the caller to do, after everything was
 * found sound, so that a directory it refuses is left untouched.
 */
import { open, readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { HardState, Snapshot } from '../../core/index.js';
import type { CommandCodec } from '../binary.js';
import type { SnapshotRef } from '../snapshot-data.js';
import { StorageCorruptionError } from './corruption.js';
import type { HeldData } from './disk-snapshots.js';
import { hasValidFrameFrom, readFrame } from './frame.js';
import { type Segment, type SnapshotFile, scanDataDirectory, statePath } from './layout.js';
import { decodePersistRecord, type PersistRecord } from './record.js';
import { readSegmentHeader, SEGMENT_HEADER_BYTES, type SegmentHeader } from './segment-header.js';
import { readSnapshotData, readSnapshotTrailer } from './snapshot-file.js';
import { type DirectoryState, newerHardState, readStateFile } from './state-file.js';
import { DurableLog, type PersistEffect } from './storage.js';
import type { SyncedEnd } from './wal.js';

export interface RecoveredSegment extends Segment {
  /** Its length once the tail is cut (for the last one). */
  readonly length: number;
  /** The highest entry index any of its records wrote (0 if none): compaction deletes it once this is covered. */
  readonly lastEntryIndex: number;
  /** Its newest header, and the sequence of the write that put it there. */
  readonly header: SegmentHeader;
  readonly headerSequence: number;
}

export interface Recovered<C> {
  /** What STATE holds; null for a new directory (nothing was made yet, or only what a crash left of that). */
  readonly stored: { readonly state: DirectoryState; readonly sequence: number } | null;
  /** The durable state; its hard state is the newer of the log's and STATE's. */
  readonly log: DurableLog<C>;
  /** The current snapshot's data and file, if there is one; `log.latestSnapshot` is the snapshot. */
  readonly snapshotFile: HeldData | null;
  readonly segments: readonly RecoveredSegment[];
  /**
   * Set when the last segment must be cut here: at a record a crash left half-written, or at the record of a
   * snapshot persist whose snapshot never became current.
   */
  readonly cutTailAt: number | null;
  /** Snapshot data that no persist made current, snapshots a newer one replaced, and files whose creation a
   *  crash interrupted: delete them. */
  readonly leftovers: readonly string[];
}

/**
 * Reads the directory. `trustedEnd`: how far this process knows the log was synced, when it reopens after a
 * failed write; nothing past it is replayed (it may be in the page cache and not on disk). `trustedHardState`:
 * the hard state it last wrote to STATE and synced, then; STATE's own slots are not believed.
 */
export async function recover<C>(
  dir: string,
  codec: CommandCodec<C>,
  trustedEnd: SyncedEnd | null = null,
  trustedHardState: HardState | null = null,
): Promise<Recovered<C>> {
  const { segments, snapshots, temporaries, unfinished } = await scanDataDirectory(dir);
  const stored = await readStateFile(dir);
  const log = new DurableLog<C>();
  if (stored === null) {
    // The first segment is made before STATE, and made whole: a lone segment holding only its header is what a
    // crash while making a new directory leaves. Anything more means the directory lost its STATE.
    const lone = segments.length === 1 ? (await stat(segments[0]!.path)).size : null;
    if (snapshots.length > 0 || segments.length > 1 || (lone !== null && lone !== SEGMENT_HEADER_BYTES)) {
      throw new StorageCorruptionError(
        statePath(dir),
        0,
        'there is no STATE file, but the directory holds a log (its hard state is lost; or the directory was' +
          ' written by pureraft 0.1, whose format had no STATE)',
        'state file',
      );
    }
    const leftovers = [...segments.map((segment) => segment.path), ...unfinished, ...temporaries];
    return { stored, log, snapshotFile: null, segments: [], cutTailAt: null, leftovers };
  }
  if (segments.length === 0) {
    throw new StorageCorruptionError(dir, 0, 'STATE is there, but no log segment is (the log was deleted)');
  }
  const current = snapshots.at(-1);
  const snapshotFile = current === undefined ? null : await loadSnapshot(current);
  if (snapshotFile !== null) log.apply({ type: 'persist', snapshot: snapshotFile.snapshot });
  const recovered: RecoveredSegment[] = [];
  const leftovers = [...temporaries, ...unfinished, ...snapshots.slice(0, -1).map((file) => file.path)];
  let cutTailAt: number | null = null;
  for (const [position, segment] of segments.entries()) {
    const expected = segments[0]!.number + position;
    if (segment.number !== expected) {
      throw new StorageCorruptionError(segment.path, 0, `segment ${expected} is missing before this one`);
    }
    const bytes = await readFile(segment.path);
    const { header, sequence } = readSegmentHeader(segment.path, bytes);
    checkHeader(segment, header, stored.state.incarnation);
    let isLast = position === segments.length - 1;
    if (!header.sealed && !isLast) {
      // A crash between making the next segment and sealing this one leaves the next one holding its header
      // only: it is dropped, and this one goes on as the last.
      const next = segments[position + 1]!;
      const nextIsEmpty = (await stat(next.path)).size === SEGMENT_HEADER_BYTES;
      if (position !== segments.length - 2 || !nextIsEmpty) {
        throw new StorageCorruptionError(
          segment.path,
          0,
          `not sealed, but segment ${next.number} follows it`,
        );
      }
      leftovers.push(next.path);
      isLast = true;
    }
    checkLength(segment, header, bytes.length, isLast);
    const usable = trustedLength(segment.number, bytes.length, trustedEnd);
    const replayed = replaySegment(segment.path, bytes.subarray(0, usable), header, isLast, log, codec);
    if (replayed.length < bytes.length) cutTailAt = replayed.length;
    recovered.push({ ...segment, ...replayed, header, headerSequence: sequence });
    if (isLast) break;
  }
  const corrupt = (reason: string) => new StorageCorruptionError(statePath(dir), 0, reason, 'state file');
  // On a reopen, STATE's newest slot may be one whose sync failed, read back from the page cache: the hard state
  // this process last wrote and synced stands instead.
  const storedHardState = trustedHardState ?? stored.state.hardState;
  log.apply({ type: 'persist', hardState: newerHardState(log.hardState, storedHardState, corrupt) });
  return { stored, log, snapshotFile, segments: recovered, cutTailAt, leftovers };
}

function checkHeader(segment: Segment, header: SegmentHeader, incarnation: string): void {
  if (header.number !== segment.number) {
    throw new StorageCorruptionError(segment.path, 0, `its header says it is segment ${header.number}`);
  }
  if (header.incarnation !== incarnation) {
    throw new StorageCorruptionError(
      segment.path,
      0,
      `it belongs to the directory incarnation ${header.incarnation}, and STATE says this one is ${incarnation}`,
    );
  }
}

/** A sealed segment is exactly as long as its header says; the last one at least as long as what was synced. */
function checkLength(segment: Segment, header: SegmentHeader, length: number, isLast: boolean): void {
  const { syncedThrough } = header;
  if (isLast && header.sealed) {
    throw new StorageCorruptionError(
      segment.path,
      syncedThrough,
      `it was sealed, so a segment ${segment.number + 1} was made after it, and that one is missing`,
    );
  }
  if (header.sealed ? length !== syncedThrough : length < syncedThrough) {
    const what = header.sealed ? 'it was sealed at' : 'its header says it was synced through';
    throw new StorageCorruptionError(
      segment.path,
      Math.min(length, syncedThrough),
      `${what} ${syncedThrough} bytes, and the file has ${length}`,
    );
  }
}

/** How much of a segment of `length` bytes to replay: past `trustedEnd`, nothing. */
function trustedLength(number: number, length: number, trustedEnd: SyncedEnd | null): number {
  if (trustedEnd === null || number < trustedEnd.segment) return length;
  if (number === trustedEnd.segment) return Math.min(length, trustedEnd.length);
  return SEGMENT_HEADER_BYTES;
}

/** The snapshot a file holds, once its trailer and its data's checksum were found sound. */
async function loadSnapshot(file: SnapshotFile): Promise<HeldData & { readonly snapshot: Snapshot }> {
  const trailer = await readSnapshotTrailer(file.path);
  if (trailer.meta.index !== file.index) {
    const reason = `the trailer says index ${trailer.meta.index}, the name ${file.index}`;
    throw new StorageCorruptionError(file.path, trailer.bytes, reason, 'snapshot');
  }
  for await (const _chunk of readSnapshotData(file.path, await open(file.path, 'r'), trailer)) {
    // Reading is checking: readSnapshotData throws at the end if the checksum does not match.
  }
  const { bytes, crc32 } = trailer;
  const ref: SnapshotRef = { kind: 'snapshot-ref', name: basename(file.path), bytes, crc32 };
  return { ref, path: file.path, snapshot: { meta: trailer.meta, data: ref } };
}

/**
 * Applies every record of one segment to `log`; returns the length of the prefix to keep. A bad record can be
 * a torn write, and cut, only in the last segment, past what its header vouches for, with nothing valid after it.
 */
function replaySegment<C>(
  file: string,
  bytes: Uint8Array,
  header: SegmentHeader,
  isLast: boolean,
  log: DurableLog<C>,
  codec: CommandCodec<C>,
): { length: number; lastEntryIndex: number } {
  const mayBeTorn = (offset: number, next: number) =>
    isLast && offset >= header.syncedThrough && !hasValidFrameFrom(bytes, next);
  let offset = SEGMENT_HEADER_BYTES;
  let lastEntryIndex = 0;
  while (offset < bytes.length) {
    const frame = readFrame(bytes, offset);
    if (!frame.ok) {
      if (mayBeTorn(offset, offset + 1)) break;
      const synced = offset < header.syncedThrough ? `, inside the ${header.syncedThrough} bytes synced` : '';
      throw new StorageCorruptionError(file, offset, `${frame.reason}${synced}`);
    }
    // A record with a good checksum was written as it is: failing to decode or apply it is not a torn write.
    try {
      const record = decodePersistRecord(frame.payload, codec);
      if (record.snapshotIndex !== undefined && record.snapshotIndex > log.snapshotIndex) {
        // Its snapshot file was never renamed into place, so the persist never completed and nothing was
        // written after it (a snapshot persist is a barrier): that makes it the last record, to be cut.
        if (mayBeTorn(offset, frame.end)) break;
        throw new Error(
          `the record makes snapshot ${record.snapshotIndex} current, but the current snapshot file is at` +
            ` index ${log.snapshotIndex}`,
        );
      }
      log.apply(onTopOfSnapshot(record, log.snapshotIndex));
      lastEntryIndex = Math.max(lastEntryIndex, record.entries?.at(-1)?.index ?? 0);
    } catch (error) {
      throw new StorageCorruptionError(file, offset, (error as Error).message);
    }
    offset = frame.end;
  }
  return { length: offset, lastEntryIndex };
}

/**
 * A record as it applies on top of the current snapshot. The log replays from before that snapshot was taken
 * (the oldest segments still hold records from before it), so its snapshot marker is the current snapshot's
 * or an older one's, and changes nothing now; and its entries at or below the snapshot's index are in the
 * snapshot already. Every other part applies as it did: the snapshot kept the entries after its index, and so
 * the entries after it replay to the same log (a truncation at or below the snapshot deletes all that follow).
 */
function onTopOfSnapshot<C>(record: PersistRecord<C>, snapshotIndex: number): PersistEffect<C> {
  const { snapshotIndex: _marker, entries, ...rest } = record;
  if (entries === undefined || entries[0]!.index > snapshotIndex)
    return { ...rest, ...(entries && { entries }) };
  return { ...rest, entries: entries.filter((entry) => entry.index > snapshotIndex) };
}
