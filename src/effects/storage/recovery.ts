/**
 * Rebuilding the durable state on open: the current snapshot, then the write-ahead log replayed on top of it.
 * Recovery only reads: it reports what to cut and what to delete for the caller to do, after everything was
 * found sound, so that a directory it refuses is left untouched.
 */
import { open, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Snapshot } from '../../core/index.js';
import type { CommandCodec } from '../binary.js';
import type { SnapshotRef } from '../snapshot-data.js';
import { StorageCorruptionError } from './corruption.js';
import type { HeldData } from './disk-snapshots.js';
import { hasValidFrameFrom, readFrame } from './frame.js';
import { type Segment, type SnapshotFile, scanDataDirectory } from './layout.js';
import { decodePersistRecord, type PersistRecord } from './record.js';
import { readSnapshotData, readSnapshotTrailer } from './snapshot-file.js';
import { DurableLog, type PersistEffect } from './storage.js';

export interface RecoveredSegment extends Segment {
  /** Its length once the tail is cut (for the last one). */
  readonly length: number;
  /** The highest entry index any of its records wrote (0 if none): compaction deletes it once this is covered. */
  readonly lastEntryIndex: number;
}

export interface Recovered<C> {
  readonly log: DurableLog<C>;
  /** The current snapshot's data and file, if there is one; `log.latestSnapshot` is the snapshot. */
  readonly snapshotFile: HeldData | null;
  readonly segments: readonly RecoveredSegment[];
  /**
   * Set when the last segment must be cut here: at a record a crash left half-written, or at the record of a
   * snapshot persist whose snapshot never became current.
   */
  readonly cutTailAt: number | null;
  /** Snapshot data that no persist made current, and snapshots a newer one replaced: delete them. */
  readonly leftovers: readonly string[];
}

export async function recover<C>(dir: string, codec: CommandCodec<C>): Promise<Recovered<C>> {
  const { segments, snapshots, temporaries } = await scanDataDirectory(dir);
  const current = snapshots.at(-1);
  const snapshotFile = current === undefined ? null : await loadSnapshot(current);
  if (current !== undefined && segments.length === 0) {
    // The hard state lives in the log only: starting from the snapshot alone would forget votes.
    throw new StorageCorruptionError(dir, 0, `${basename(current.path)} is there but no log segment is`);
  }
  const log = new DurableLog<C>();
  if (snapshotFile !== null) log.apply({ type: 'persist', snapshot: snapshotFile.snapshot });
  const recovered: RecoveredSegment[] = [];
  let cutTailAt: number | null = null;
  for (const [position, segment] of segments.entries()) {
    const expected = (segments[0]?.number ?? 1) + position;
    if (segment.number !== expected) {
      throw new StorageCorruptionError(segment.path, 0, `segment ${expected} is missing before this one`);
    }
    const bytes = await readFile(segment.path);
    const replayed = replaySegment(segment.path, bytes, position === segments.length - 1, log, codec);
    if (replayed.length < bytes.length) cutTailAt = replayed.length;
    recovered.push({ ...segment, ...replayed });
  }
  const replaced = snapshots.slice(0, -1).map((file) => file.path);
  return {
    log,
    snapshotFile,
    segments: recovered,
    cutTailAt,
    leftovers: [...temporaries, ...replaced],
  };
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

/** Applies every record of one segment to `log`; returns the length of the prefix to keep. */
function replaySegment<C>(
  file: string,
  bytes: Uint8Array,
  isLast: boolean,
  log: DurableLog<C>,
  codec: CommandCodec<C>,
): { length: number; lastEntryIndex: number } {
  let offset = 0;
  let lastEntryIndex = 0;
  while (offset < bytes.length) {
    const frame = readFrame(bytes, offset);
    if (!frame.ok) {
      // Only the last segment can end mid-record: a segment is sealed (every batch in it synced) before the
      // next one is created. And only a bad record with nothing valid after it looks like a torn write.
      if (isLast && !hasValidFrameFrom(bytes, offset + 1)) break;
      throw new StorageCorruptionError(file, offset, frame.reason);
    }
    // A record with a good checksum was written as it is: failing to decode or apply it is not a torn write.
    try {
      const record = decodePersistRecord(frame.payload, codec);
      if (record.snapshotIndex !== undefined && record.snapshotIndex > log.snapshotIndex) {
        // Its snapshot file was never renamed into place, so the persist never completed and nothing was
        // written after it (a snapshot persist is a barrier): that makes it the last record, to be cut.
        if (isLast && !hasValidFrameFrom(bytes, frame.end)) break;
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
