/**
 * Every frame after a shared-secret handshake is sealed with AES-256-GCM, so that someone on the network path
 * who lets the handshake through can neither read, change, inject, drop-and-reorder nor replay a frame.
 *
 * - The keys are derived per connection (HKDF-SHA256) from the cluster secret, both sides' fresh nonces and
 *   everything the handshake settled (ids, purpose): no two connections share a key, so a frame recorded on
 *   one connection means nothing on another, and a key never outlives its connection.
 * - Each direction has its own key, so a frame cannot be reflected back to its sender.
 * - The GCM nonce is the frame's sequence number in its direction, counted by both ends and never sent: a
 *   replayed, reordered, dropped-then-resumed or injected frame is opened with the wrong nonce and fails its
 *   tag. The first failure ends the connection (a stream that lost its place cannot be trusted again).
 */
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { ByteWriter } from '../binary.js';

const CIPHER = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
/** What sealing adds to each frame: the GCM tag. */
export const SEAL_OVERHEAD = 16;

/** The two keys of a connection, as seen from one end. */
export interface SessionKeys {
  readonly send: Uint8Array;
  readonly receive: Uint8Array;
}

/** What the handshake settled: it is under the keys, so the two ends agree on all of it or cannot talk. */
export interface SessionTranscript {
  readonly acceptorNonce: Uint8Array;
  readonly connectorNonce: Uint8Array;
  readonly acceptorId: string;
  readonly connectorId: string;
  readonly purpose: string;
  readonly version: number;
}

/** The keys of `side` for the connection described by `transcript`. */
export function sessionKeys(
  secret: Uint8Array,
  transcript: SessionTranscript,
  side: 'connector' | 'acceptor',
): SessionKeys {
  const salt = new ByteWriter().bytes(transcript.acceptorNonce).bytes(transcript.connectorNonce).finish();
  const info = new ByteWriter().string(`pureraft/${transcript.version} frame keys`);
  info.string(transcript.acceptorId).string(transcript.connectorId).string(transcript.purpose);
  const material = new Uint8Array(hkdfSync('sha256', secret, salt, info.finish(), 2 * KEY_BYTES));
  const toAcceptor = material.subarray(0, KEY_BYTES);
  const toConnector = material.subarray(KEY_BYTES);
  return side === 'connector'
    ? { send: toAcceptor, receive: toConnector }
    : { send: toConnector, receive: toAcceptor };
}

/** Seals the frames one end sends, in order. */
export class FrameSealer {
  private sequence = 0;

  constructor(private readonly key: Uint8Array) {}

  /** `payload` encrypted, followed by its tag. */
  seal(payload: Uint8Array): Uint8Array {
    const cipher = createCipheriv(CIPHER, this.key, nonce(this.sequence++), { authTagLength: SEAL_OVERHEAD });
    return Buffer.concat([cipher.update(payload), cipher.final(), cipher.getAuthTag()]);
  }
}

/** Opens the frames one end receives, in order; after the first failure it opens nothing more. */
export class FrameOpener {
  private sequence = 0;
  private failed = false;

  constructor(private readonly key: Uint8Array) {}

  /** The payload, or undefined when the frame is not the next one the peer sealed. Never throws. */
  open(sealed: Uint8Array): Uint8Array | undefined {
    if (this.failed || sealed.length < SEAL_OVERHEAD) return this.fail();
    const body = sealed.subarray(0, sealed.length - SEAL_OVERHEAD);
    const decipher = createDecipheriv(CIPHER, this.key, nonce(this.sequence), {
      authTagLength: SEAL_OVERHEAD,
    });
    decipher.setAuthTag(sealed.subarray(sealed.length - SEAL_OVERHEAD));
    try {
      const payload = Buffer.concat([decipher.update(body), decipher.final()]);
      this.sequence++;
      return payload;
    } catch {
      return this.fail();
    }
  }

  private fail(): undefined {
    this.failed = true;
    return undefined;
  }
}

/**
 * The 96-bit GCM nonce for a sequence number. A JavaScript number counts exactly to 2^53: at a million frames
 * a second, for 285 years; a connection never gets there.
 */
function nonce(sequence: number): Buffer {
  const iv = Buffer.alloc(IV_BYTES);
  iv.writeUInt32BE(Math.floor(sequence / 2 ** 32), 4);
  iv.writeUInt32BE(sequence >>> 0, 8);
  return iv;
}
