import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameOpener, FrameSealer, SEAL_OVERHEAD, sessionKeys } from './sealing.js';

const key = randomBytes(32);
const frames = ['first', 'second', 'third'].map((text) => new TextEncoder().encode(text));

function sealAll(payloads: readonly Uint8Array[], withKey = key): Uint8Array[] {
  const sealer = new FrameSealer(withKey);
  return payloads.map((payload) => sealer.seal(payload));
}

describe('sealed frames', () => {
  it('open in order, and hide what they carry', () => {
    const sealed = sealAll(frames);
    const opener = new FrameOpener(key);
    expect(sealed.map((frame) => Buffer.from(opener.open(frame)!).toString())).toEqual([
      'first',
      'second',
      'third',
    ]);
    expect(sealed[0]!.length).toBe(frames[0]!.length + SEAL_OVERHEAD);
    expect(Buffer.from(sealed[0]!).includes('first')).toBe(false);
    // The same payload sealed twice looks different: each has its own nonce.
    const [once, again] = sealAll([frames[0]!, frames[0]!]);
    expect(once).not.toEqual(again);
  });

  it('refuse a replayed, reordered, skipped, changed, truncated or foreign frame, and all after it', () => {
    const sealed = sealAll(frames);
    const changed = Uint8Array.from(sealed[0]!);
    changed[2]! ^= 1;
    const cases: Uint8Array[][] = [
      [sealed[0]!, sealed[0]!],
      [sealed[1]!],
      [sealed[0]!, sealed[2]!],
      [changed],
      [sealed[0]!.subarray(0, 10)],
      sealAll(frames, randomBytes(32)).slice(0, 1),
    ];
    for (const stream of cases) {
      const opener = new FrameOpener(key);
      const results = stream.map((frame) => opener.open(frame));
      expect(results.at(-1)).toBeUndefined();
      // Once it failed, even the genuine next frame is refused: the stream lost its place.
      expect(opener.open(sealed[stream.length]!)).toBeUndefined();
    }
  });

  it('never throw on random input', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 5 }), (inputs) => {
        const opener = new FrameOpener(key);
        for (const input of inputs) expect(opener.open(input)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('derive keys from everything the handshake settled', () => {
    const secret = new TextEncoder().encode('s');
    const transcript = {
      acceptorNonce: new Uint8Array(32).fill(1),
      connectorNonce: new Uint8Array(32).fill(2),
      acceptorId: 'b',
      connectorId: 'a',
      purpose: 'messages',
      version: 3,
    };
    const base = sessionKeys(secret, transcript, 'connector');
    for (const change of [
      { acceptorNonce: new Uint8Array(32) },
      { connectorNonce: new Uint8Array(32) },
      { acceptorId: 'c' },
      { connectorId: 'c' },
      { purpose: 'snapshot' },
    ]) {
      expect(sessionKeys(secret, { ...transcript, ...change }, 'connector').send).not.toEqual(base.send);
    }
    expect(sessionKeys(new TextEncoder().encode('t'), transcript, 'connector').send).not.toEqual(base.send);
  });
});
