/**
 * The header at the start of every write-ahead log segment: two slots (slots.ts), then the records. It says
 * which directory the segment belongs to and how much of it is known to be synced, so that recovery can tell
 * a torn write (after the last sync: cut) from damage (before it: refuse):
 * - `incarnation`: the directory's (state-file.ts);
 * - `number`: the segment's own number, so that a renamed or copied file is not replayed in the wrong place;
 * - `syncedThrough`: every byte before this offset was synced. A batch rewrites the header with the offset
 *   where the previous sync ended, in the same fdatasync as its records, so recording a sync costs no extra
 *   sync (and, to spare a stream of one-write batches a second write each, at most every 10 ms: wal.ts). What
 *   was synced since is vouched for only by its own checksums until the next such write, a quiet moment
 *   (disk.ts then writes the header alone) or a clean close: damage there is cut as a torn write would be;
 * - `sealed`: the segment is complete and the next one exists (it is set once the next one was created). A
 *   sealed last segment means a later one went missing.
 */
import type { ByteReader } from '../binary.js';
import { StorageCorruptionError } from './corruption.js';
import { encodeSlot, newestSlot, SLOT_KIND_SEGMENT_HEADER, SLOTS_BYTES, slotOffset } from './slots.js';
import { readIncarnation, writeIncarnation } from './state-file.js';

/** Where a segment's first record starts. */
export const SEGMENT_HEADER_BYTES = SLOTS_BYTES;

export interface SegmentHeader {
  readonly incarnation: string;
  readonly number: number;
  readonly syncedThrough: number;
  readonly sealed: boolean;
}

/** The bytes of the `sequence`th header write, and where they go. */
export function encodeSegmentHeader(
  sequence: number,
  header: SegmentHeader,
): { bytes: Uint8Array; offset: number } {
  const bytes = encodeSlot(SLOT_KIND_SEGMENT_HEADER, sequence, (writer) => {
    writeIncarnation(writer, header.incarnation);
    writer
      .varint(header.number)
      .varint(header.syncedThrough)
      .u8(header.sealed ? 1 : 0);
  });
  return { bytes, offset: slotOffset(sequence) };
}

/** A new segment's bytes: its header in both slots, nothing synced past it yet. */
export function newSegmentBytes(incarnation: string, number: number): Uint8Array {
  const header = { incarnation, number, syncedThrough: SEGMENT_HEADER_BYTES, sealed: false };
  const bytes = new Uint8Array(SEGMENT_HEADER_BYTES);
  for (const sequence of [0, 1]) {
    const slot = encodeSegmentHeader(sequence, header);
    bytes.set(slot.bytes, slot.offset);
  }
  return bytes;
}

/** The newest sound header of a segment's bytes, and its sequence; throws StorageCorruptionError otherwise. */
export function readSegmentHeader(
  path: string,
  bytes: Uint8Array,
): { header: SegmentHeader; sequence: number } {
  const newest = newestSlot(bytes.subarray(0, SEGMENT_HEADER_BYTES), SLOT_KIND_SEGMENT_HEADER, decodeHeader);
  if (!newest.ok) throw new StorageCorruptionError(path, 0, `segment header: ${newest.reason}`);
  const header = newest.value;
  if (header.syncedThrough < SEGMENT_HEADER_BYTES) {
    throw new StorageCorruptionError(path, 0, `segment header: synced through ${header.syncedThrough}`);
  }
  return { header, sequence: newest.sequence };
}

function decodeHeader(reader: ByteReader): SegmentHeader {
  const incarnation = readIncarnation(reader);
  const number = reader.varint();
  const syncedThrough = reader.varint();
  const sealed = reader.u8();
  if (sealed > 1) throw new Error(`bad sealed flag ${sealed}`);
  return { incarnation, number, syncedThrough, sealed: sealed === 1 };
}
