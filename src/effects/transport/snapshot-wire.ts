/**
 * What a snapshot transfer says on its connection (one opened for it alone, purpose 'snapshot' in the
 * handshake), after the handshake:
 *
 *   sender → receiver  Offer:  varint data length, varint CRC-32 of the data, then the InstallSnapshot
 *                              message as codec.ts encodes it (without its data), length-prefixed
 *   sender → receiver  Chunks: the data, in non-empty frames of at most the sender's chunk size, exactly the
 *                              offered length in all
 *   receiver → sender  Done:   one empty frame, once the data checked out and the message went to the core
 *
 * Either side aborts by closing the connection: the receiver throws away what it got, and the sender starts
 * over when the core sends the snapshot again.
 */
import type { InstallSnapshot, Message } from '../../core/index.js';
import { ByteReader, ByteWriter, type CommandCodec } from '../binary.js';
import type { SnapshotRef } from '../snapshot-data.js';
import { decodeMessage, describeError, encodeMessage, type MessageLimits } from './codec.js';

/** The data's length and CRC-32 (as `SnapshotRef` has them), which the receiver checks what arrives against. */
export interface SnapshotOffer {
  readonly message: InstallSnapshot;
  readonly bytes: number;
  readonly crc32: number;
}

export type OfferResult =
  | { readonly ok: true; readonly offer: SnapshotOffer }
  | { readonly ok: false; readonly error: string };

const MAX_CRC32 = 0xffff_ffff;

/** The Done frame. */
export const TRANSFER_DONE = new Uint8Array(0);

/** Throws a RangeError on a message the codec refuses or a ref whose checksum is not a CRC-32. */
export function encodeOffer<C>(
  message: InstallSnapshot,
  ref: SnapshotRef,
  codec: CommandCodec<C>,
  limits: MessageLimits,
): Uint8Array {
  if (ref.crc32 < 0 || ref.crc32 > MAX_CRC32) throw new RangeError(`${ref.crc32} is not a CRC-32`);
  const encoded = encodeMessage(message as Message<C>, codec, limits);
  return new ByteWriter().varint(ref.bytes).varint(ref.crc32).bytes(encoded).finish();
}

/** The offer in `payload`, or why there is none. Never throws. */
export function decodeOffer<C>(
  payload: Uint8Array,
  codec: CommandCodec<C>,
  limits: MessageLimits,
): OfferResult {
  let fields: { bytes: number; crc32: number; encoded: Uint8Array };
  try {
    const reader = new ByteReader(payload);
    fields = { bytes: reader.varint(), crc32: reader.varint(), encoded: reader.bytes() };
    reader.end();
  } catch (error) {
    return { ok: false, error: describeError(error) };
  }
  if (fields.crc32 > MAX_CRC32) return { ok: false, error: `${fields.crc32} is not a CRC-32` };
  const decoded = decodeMessage(fields.encoded, codec, limits);
  if (!decoded.ok) return decoded;
  if (decoded.message.type !== 'InstallSnapshot')
    return { ok: false, error: `a ${decoded.message.type} where an InstallSnapshot was due` };
  return { ok: true, offer: { message: decoded.message, bytes: fields.bytes, crc32: fields.crc32 } };
}
