/**
 * Length-prefixed frames on a byte stream: `[u32 big-endian payload length][payload]`. The decoder keeps large
 * received chunks as they are and copies small ones together (so a peer sending a byte at a time costs a byte
 * each, not an object, and a frame a few chunks), copies each payload byte at most twice, so a large frame
 * arriving in many small chunks costs linear time, and refuses a frame longer than its limit as soon as the
 * prefix is in, before buffering any of it.
 */

const HEADER_BYTES = 4;
/** Chunks shorter than this are copied into a shared buffer rather than kept as they are. */
const SMALL_CHUNK_BYTES = 4096;
const COALESCED_BYTES = 64 * 1024;

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
  /** Where small chunks are copied to; the last of `chunks` may be a view of it that grows. */
  private coalesced = new Uint8Array(0);
  private coalescedEnd = 0;

  /** `maxFrameBytes` may change between frames: a connection allows larger ones once authenticated. */
  constructor(public maxFrameBytes: number) {}

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.buffered += chunk.length;
    if (chunk.length >= SMALL_CHUNK_BYTES) {
      this.chunks.push(chunk);
      return;
    }
    if (this.coalescedEnd + chunk.length > this.coalesced.length) {
      this.coalesced = new Uint8Array(COALESCED_BYTES);
      this.coalescedEnd = 0;
    }
    this.coalesced.set(chunk, this.coalescedEnd);
    const last = this.chunks.at(-1);
    // The last chunk is still the view that ends where this one was copied: extend it rather than add one.
    if (
      last !== undefined &&
      last.buffer === this.coalesced.buffer &&
      last.byteOffset + last.length === this.coalescedEnd
    ) {
      this.chunks[this.chunks.length - 1] = this.coalesced.subarray(
        last.byteOffset,
        this.coalescedEnd + chunk.length,
      );
    } else this.chunks.push(this.coalesced.subarray(this.coalescedEnd, this.coalescedEnd + chunk.length));
    this.coalescedEnd += chunk.length;
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
