/**
 * Length-prefixed frames on a byte stream: `[u32 big-endian payload length][payload]`. The decoder keeps the
 * received chunks as they are and copies each payload byte at most once, so a large frame arriving in many
 * small chunks costs linear time, and it refuses a frame longer than its limit as soon as the prefix is in,
 * before buffering any of it.
 */

const HEADER_BYTES = 4;

/** Largest length a u32 prefix can state. */
export const MAX_U32 = 0xffff_ffff;

export function encodeFrame(payload: Uint8Array): Buffer {
  if (payload.length > MAX_U32)
    throw new RangeError(`frame of ${payload.length} bytes exceeds the u32 prefix`);
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.set(payload, HEADER_BYTES);
  return frame;
}

export type FrameResult =
  | { readonly kind: 'frame'; readonly payload: Uint8Array }
  | { readonly kind: 'tooLarge'; readonly length: number };

export class FrameDecoder {
  private readonly chunks: Uint8Array[] = [];
  private buffered = 0;

  /** `maxFrameBytes` may change between frames: a connection allows larger ones once authenticated. */
  constructor(public maxFrameBytes: number) {}

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * The next complete frame, or undefined until more bytes arrive. After `tooLarge` the stream cannot be
   * trusted (and the frame is not worth buffering): the caller closes the connection.
   */
  next(): FrameResult | undefined {
    if (this.buffered < HEADER_BYTES) return undefined;
    const length = this.peekLength();
    if (length > this.maxFrameBytes) return { kind: 'tooLarge', length };
    if (this.buffered < HEADER_BYTES + length) return undefined;
    this.take(HEADER_BYTES);
    return { kind: 'frame', payload: this.take(length) };
  }

  private peekLength(): number {
    let length = 0;
    let read = 0;
    for (const chunk of this.chunks) {
      for (let i = 0; i < chunk.length && read < HEADER_BYTES; i++, read++) length = length * 256 + chunk[i]!;
      if (read === HEADER_BYTES) break;
    }
    return length;
  }

  /** Removes the first `count` buffered bytes (count <= buffered) and returns them. */
  private take(count: number): Uint8Array {
    this.buffered -= count;
    const first = this.chunks[0];
    if (first !== undefined && first.length >= count) {
      if (first.length === count) this.chunks.shift();
      else this.chunks[0] = first.subarray(count);
      return first.subarray(0, count);
    }
    const out = new Uint8Array(count);
    let filled = 0;
    while (filled < count) {
      const chunk = this.chunks[0]!;
      const used = Math.min(chunk.length, count - filled);
      out.set(chunk.subarray(0, used), filled);
      filled += used;
      if (used === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    return out;
  }
}
