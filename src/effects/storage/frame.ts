/**
 * The write-ahead log's framing: every record is `[u32 payload length][u32 crc32 of payload][payload]`, both
 * numbers little-endian. The checksum is what tells a record that reached the disk whole from one that did not
 * (a crash mid-write) or that changed since (a bad disk).
 */
import { crc32 } from 'node:zlib';

/** CRC-32 (zlib's): of a frame's payload, and of snapshot data. `crc32(next, crc32(first))` continues one. */
export { crc32 };

export const FRAME_HEADER_BYTES = 8;

export function encodeFrame(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, payload.length, true);
  view.setUint32(4, crc32(payload), true);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

export type FrameRead =
  | { readonly ok: true; readonly payload: Uint8Array; readonly end: number }
  | { readonly ok: false; readonly reason: string };

/** The frame at `offset`, which must be inside `buffer`; never reads past the buffer. */
export function readFrame(buffer: Uint8Array, offset: number): FrameRead {
  const available = buffer.length - offset;
  if (available < FRAME_HEADER_BYTES) {
    return { ok: false, reason: `record header needs ${FRAME_HEADER_BYTES} bytes, only ${available} left` };
  }
  const view = new DataView(buffer.buffer, buffer.byteOffset + offset, FRAME_HEADER_BYTES);
  const length = view.getUint32(0, true);
  const checksum = view.getUint32(4, true);
  // No record is empty, so a zero length is never valid: it is what a zero-filled tail looks like.
  if (length === 0) return { ok: false, reason: 'record of length 0' };
  const end = offset + FRAME_HEADER_BYTES + length;
  if (end > buffer.length) {
    return { ok: false, reason: `record of ${length} bytes runs past the end of the file` };
  }
  const payload = buffer.subarray(offset + FRAME_HEADER_BYTES, end);
  if (crc32(payload) !== checksum) return { ok: false, reason: 'checksum mismatch' };
  return { ok: true, payload, end };
}

/**
 * Whether any valid frame starts at or after `from`. A crash mid-write leaves only garbage (a prefix of the
 * last batch, or zeros) after the last good record; finding a valid record there means the bad record before
 * it is damage inside the log, not a torn tail. This scans byte by byte, so it is only for the recovery of a
 * damaged last segment, where the tail is normally at most one batch long.
 */
export function hasValidFrameFrom(buffer: Uint8Array, from: number): boolean {
  for (let offset = from; offset + FRAME_HEADER_BYTES < buffer.length; offset++) {
    if (readFrame(buffer, offset).ok) return true;
  }
  return false;
}
