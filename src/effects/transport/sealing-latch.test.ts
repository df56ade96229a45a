/**
 * A frame opener that failed opens nothing more, not even the frame it would have taken next: after an injected or
 * changed frame the stream has lost its place, and going on would let an attacker drop frames unnoticed.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FrameOpener, FrameSealer } from './sealing.js';

describe('a frame opener after a failure', () => {
  it('refuses the genuine frame it expected next, after a changed, injected or truncated one', () => {
    const key = randomBytes(32);
    const sealer = new FrameSealer(key);
    const genuine = [sealer.seal(Buffer.from('first')), sealer.seal(Buffer.from('second'))];
    const changed = Uint8Array.from(genuine[1]!);
    changed[1]! ^= 1;
    const injected = new FrameSealer(randomBytes(32)).seal(Buffer.from('injected'));
    for (const bad of [changed, injected, genuine[1]!.subarray(0, 8)]) {
      const opener = new FrameOpener(key);
      expect(Buffer.from(opener.open(genuine[0]!)!).toString()).toBe('first');
      expect(opener.open(bad)).toBeUndefined();
      // The frame it would have opened, had the bad one not come: refused all the same.
      expect(opener.open(genuine[1]!)).toBeUndefined();
    }
  });
});
