import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, type FrameResult } from './framing.js';

function drain(decoder: FrameDecoder): FrameResult[] {
  const results: FrameResult[] = [];
  for (let result = decoder.next(); result !== undefined; result = decoder.next()) {
    results.push(result);
    if (result.kind === 'tooLarge') break;
  }
  return results;
}

function bytesOf(result: FrameResult | undefined): number[] {
  if (result?.kind !== 'frame') throw new Error(`expected a frame, got ${JSON.stringify(result)}`);
  return [...result.payload];
}

describe('framing', () => {
  it('reassembles frames from any split of the stream', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (payloads, cuts) => {
          const stream = Buffer.concat(payloads.map(encodeFrame));
          const positions = [...new Set(cuts.map((cut) => cut % (stream.length + 1)))].sort((a, b) => a - b);
          const decoder = new FrameDecoder(64);
          const received: Uint8Array[] = [];
          let start = 0;
          for (const end of [...positions, stream.length]) {
            decoder.push(stream.subarray(start, end));
            start = end;
            for (const result of drain(decoder)) if (result.kind === 'frame') received.push(result.payload);
          }
          expect(received.map((payload) => [...payload])).toEqual(payloads.map((payload) => [...payload]));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a frame over the limit as soon as its prefix is in', () => {
    const decoder = new FrameDecoder(10);
    decoder.push(Uint8Array.of(0, 0));
    expect(decoder.next()).toBeUndefined();
    decoder.push(Uint8Array.of(0, 11));
    expect(decoder.next()).toEqual({ kind: 'tooLarge', length: 11 });
    const huge = new FrameDecoder(16 * 1024 * 1024);
    huge.push(Uint8Array.of(0xff, 0xff, 0xff, 0xff));
    expect(huge.next()).toEqual({ kind: 'tooLarge', length: 0xffff_ffff });
  });

  it('takes a large frame a byte at a time in linear time, and keeps earlier payloads intact', () => {
    // Found by the fuzz run: chunks kept one by one made this quadratic (a 256 KiB frame took minutes).
    const payload = Uint8Array.from({ length: 256 * 1024 }, (_, i) => i % 251);
    const stream = Buffer.concat([encodeFrame(Uint8Array.of(7, 7)), encodeFrame(payload)]);
    const decoder = new FrameDecoder(1 << 20);
    const startedAt = Date.now();
    const received: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i++) {
      decoder.push(stream.subarray(i, i + 1));
      for (const result of drain(decoder)) if (result.kind === 'frame') received.push(result.payload);
    }
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect(received.map((frame) => frame.length)).toEqual([2, payload.length]);
    expect([...received[0]!]).toEqual([7, 7]);
    expect(Buffer.from(received[1]!).equals(payload)).toBe(true);
  });

  it('applies a raised limit to the frames that follow', () => {
    const decoder = new FrameDecoder(2);
    decoder.push(Buffer.concat([encodeFrame(Uint8Array.of(1, 2)), encodeFrame(Uint8Array.of(3, 4, 5))]));
    expect(bytesOf(decoder.next())).toEqual([1, 2]);
    expect(decoder.next()).toEqual({ kind: 'tooLarge', length: 3 });
    decoder.maxFrameBytes = 3;
    expect(bytesOf(decoder.next())).toEqual([3, 4, 5]);
  });
});
