/**
 * Rebuilding the durable state from the write-ahead log on open. Recovery only reads: it reports a torn tail
 * for the caller to cut, after everything else was found sound, so that a log it refuses is left untouched.
 */
import { readFile } from 'node:fs/promises';
import type { CommandCodec } from '../binary.js';
import { hasValidFrameFrom, readFrame } from './frame.js';
import { decodePersistRecord } from './record.js';
import { listSegments, type Segment } from './segments.js';
import { DurableLog } from './storage.js';

/** The log on disk is damaged in a way a crash cannot explain; starting could lose acknowledged writes. */
export class StorageCorruptionError extends Error {
  override readonly name = 'StorageCorruptionError';

  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`corrupt write-ahead log: ${file} at offset ${offset}: ${reason}`);
  }
}

export interface Recovered<C> {
  readonly log: DurableLog<C>;
  /** The segment to append to, and its length once any torn tail is cut; null if there is none yet. */
  readonly last: { readonly segment: Segment; readonly length: number } | null;
  /** Set when the last segment ends in a record that a crash left half-written: cut the file here. */
  readonly tornTailAt: number | null;
}

export async function recover<C>(dir: string, codec: CommandCodec<C>): Promise<Recovered<C>> {
  const segments = await listSegments(dir);
  const log = new DurableLog<C>();
  let tornTailAt: number | null = null;
  let lastLength = 0;
  for (const [position, segment] of segments.entries()) {
    const expected = (segments[0]?.number ?? 1) + position;
    if (segment.number !== expected) {
      throw new StorageCorruptionError(segment.path, 0, `segment ${expected} is missing before this one`);
    }
    const isLast = position === segments.length - 1;
    const bytes = await readFile(segment.path);
    const goodLength = replaySegment(segment.path, bytes, isLast, log, codec);
    if (goodLength < bytes.length) tornTailAt = goodLength;
    lastLength = goodLength;
  }
  const lastSegment = segments.at(-1);
  return {
    log,
    last: lastSegment === undefined ? null : { segment: lastSegment, length: lastLength },
    tornTailAt,
  };
}

/** Applies every record of one segment to `log`; returns the length of its good prefix. */
function replaySegment<C>(
  file: string,
  bytes: Uint8Array,
  isLast: boolean,
  log: DurableLog<C>,
  codec: CommandCodec<C>,
): number {
  let offset = 0;
  while (offset < bytes.length) {
    const frame = readFrame(bytes, offset);
    if (!frame.ok) {
      // Only the last segment can end mid-record: a segment is sealed (every batch in it synced) before the
      // next one is created. And only a bad record with nothing valid after it looks like a torn write.
      if (isLast && !hasValidFrameFrom(bytes, offset + 1)) return offset;
      throw new StorageCorruptionError(file, offset, frame.reason);
    }
    // A record with a good checksum was written as it is: failing to decode or apply it is not a torn write.
    try {
      log.apply(decodePersistRecord(frame.payload, codec));
    } catch (error) {
      throw new StorageCorruptionError(file, offset, (error as Error).message);
    }
    offset = frame.end;
  }
  return offset;
}
