import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InstallSnapshot } from '../../core/index.js';
import { ByteWriter, jsonCodec } from '../binary.js';
import type { SnapshotRef } from '../snapshot-data.js';
import { encodeMessage } from './codec.js';
import { decodeOffer, encodeOffer } from './snapshot-wire.js';

const codec = jsonCodec<string>();
const ref: SnapshotRef = { kind: 'snapshot-ref', name: 'snap-7', bytes: 5 << 30, crc32: 0xffff_ffff };
const message: InstallSnapshot = {
  type: 'InstallSnapshot',
  term: 4,
  from: 'a',
  to: 'b',
  round: 2,
  snapshot: {
    meta: { index: 70, term: 3, membership: { voters: ['a', 'b'], learners: [], outgoing: ['a'] } },
    data: ref,
  },
};

describe('snapshot offers', () => {
  it('carry the message without its data, and the length and CRC-32 of the data', () => {
    const result = decodeOffer(encodeOffer(message, ref, codec, {}), codec, {});
    const withoutData = { ...message, snapshot: { ...message.snapshot, data: null } };
    expect(result).toEqual({ ok: true, offer: { message: withoutData, bytes: ref.bytes, crc32: ref.crc32 } });
  });

  it('refuse a checksum that is not a CRC-32, and any other message', () => {
    expect(() => encodeOffer(message, { ...ref, crc32: 2 ** 32 }, codec, {})).toThrow(/not a CRC-32/);
    const offer = (crc32: number, encoded: Uint8Array) =>
      new ByteWriter().varint(1).varint(crc32).bytes(encoded).finish();
    const encoded = encodeMessage(message, codec);
    expect(decodeOffer(offer(2 ** 32, encoded), codec, {})).toMatchObject({
      ok: false,
      error: /not a CRC-32/,
    });
    const timeoutNow = encodeMessage({ type: 'TimeoutNow', term: 4, from: 'a', to: 'b' }, codec);
    expect(decodeOffer(offer(0, timeoutNow), codec, {})).toMatchObject({
      ok: false,
      error: /a TimeoutNow where an InstallSnapshot was due/,
    });
  });

  it('never throw on random or corrupted bytes', () => {
    const valid = encodeOffer(message, ref, codec, {});
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (bytes, at, mask) => {
          expect(typeof decodeOffer(bytes, codec, {}).ok).toBe('boolean');
          const corrupted = valid.slice();
          const i = at % corrupted.length;
          corrupted[i] = corrupted[i]! ^ mask;
          expect(typeof decodeOffer(corrupted, codec, {}).ok).toBe('boolean');
        },
      ),
      { numRuns: 1000 },
    );
  });
});
