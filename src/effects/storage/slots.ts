/**
 * A small record kept so that no single torn write or damaged sector can take it back: two checksummed slots
 * of SLOT_BYTES each, written in turn (write n goes to slot n mod 2) and synced after each write. A write
 * only ever touches the slot that holds the older copy, so a crash in the middle of it, or one bad sector,
 * leaves the newer copy whole; the valid slot with the higher sequence number is current.
 *
 * A slot is a frame (frame.ts) of `[u8 kind][varint sequence][body]`, zero-padded to SLOT_BYTES. The kind
 * keeps one kind of record from being read as another; the sequence must match the slot it is in, so a slot
 * copied over the other one is not taken for a newer write.
 */
import { ByteReader, ByteWriter } from '../binary.js';
import { encodeFrame, readFrame } from './frame.js';

/** One sector: a device writes it whole or not at all, and a damaged one takes no neighbour with it. */
export const SLOT_BYTES = 512;
export const SLOTS_BYTES = 2 * SLOT_BYTES;

export const SLOT_KIND_STATE = 1;
export const SLOT_KIND_SEGMENT_HEADER = 2;

/** Where the `sequence`th write goes. */
export function slotOffset(sequence: number): number {
  return (sequence % 2) * SLOT_BYTES;
}

/** The SLOT_BYTES bytes of the `sequence`th write of `body`, for `slotOffset(sequence)`. */
export function encodeSlot(kind: number, sequence: number, body: (writer: ByteWriter) => void): Uint8Array {
  const writer = new ByteWriter().u8(kind).varint(sequence);
  body(writer);
  const frame = encodeFrame(writer.finish());
  if (frame.length > SLOT_BYTES)
    throw new RangeError(`a slot holds ${SLOT_BYTES} bytes, not ${frame.length}`);
  const slot = new Uint8Array(SLOT_BYTES);
  slot.set(frame);
  return slot;
}

export type NewestSlot<T> =
  | { readonly ok: true; readonly sequence: number; readonly value: T }
  | { readonly ok: false; readonly reason: string };

/**
 * The newest valid slot in `bytes` (the two slots, or what is left of them), its body read by `decode`, which
 * must consume it all and may throw: a slot it cannot read counts as damaged.
 */
export function newestSlot<T>(
  bytes: Uint8Array,
  kind: number,
  decode: (reader: ByteReader) => T,
): NewestSlot<T> {
  let newest: { sequence: number; value: T } | null = null;
  const reasons: string[] = [];
  for (const position of [0, 1]) {
    const region = bytes.subarray(position * SLOT_BYTES, (position + 1) * SLOT_BYTES);
    const slot = readSlot(region, kind, position, decode);
    if (typeof slot === 'string') reasons.push(`slot ${position}: ${slot}`);
    else if (newest === null || slot.sequence > newest.sequence) newest = slot;
  }
  if (newest === null) return { ok: false, reason: `no valid slot (${reasons.join('; ')})` };
  return { ok: true, ...newest };
}

function readSlot<T>(
  region: Uint8Array,
  kind: number,
  position: number,
  decode: (reader: ByteReader) => T,
): { sequence: number; value: T } | string {
  if (region.length === 0) return 'missing';
  const frame = readFrame(region, 0);
  if (!frame.ok) return frame.reason;
  try {
    const reader = new ByteReader(frame.payload);
    const found = reader.u8();
    if (found !== kind) return `kind ${found}, expected ${kind}`;
    const sequence = reader.varint();
    if (slotOffset(sequence) !== position * SLOT_BYTES) return `write ${sequence} does not belong here`;
    const value = decode(reader);
    reader.end();
    return { sequence, value };
  } catch (error) {
    return (error as Error).message;
  }
}
