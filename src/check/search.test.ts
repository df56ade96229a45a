/** The search's own machinery: the Zobrist keys behind its configuration cache. */
import { describe, expect, it } from 'vitest';
import { ZOBRIST_SEEDS, zobristKeys } from './search.js';

describe('the Zobrist keys', () => {
  it('are not linear in one another: sets of four whose keys cancel in one hash do not in the others', () => {
    // With a linear generator (xorshift32) every set of keys that XORs to zero under one seed did under all
    // three, so a configuration's 85-bit fingerprint was 32 bits in effect and histories hit shared ones.
    const count = 3_000;
    const [a, b, c] = ZOBRIST_SEEDS.map((seed) => zobristKeys(count, seed)) as [
      Int32Array,
      Int32Array,
      Int32Array,
    ];
    const indexOfA = new Map<number, number>();
    for (let i = 0; i < count; i++) indexOfA.set(a[i]!, i);
    let cancelInA = 0;
    for (let k = 2; k < count; k++) {
      for (let l = 1; l < k; l++) {
        const j = indexOfA.get(a[0]! ^ a[l]! ^ a[k]!);
        if (j === undefined || j === 0 || j === l || j === k) continue;
        cancelInA++;
        expect((b[0]! ^ b[j]! ^ b[l]! ^ b[k]!) !== 0 || (c[0]! ^ c[j]! ^ c[l]! ^ c[k]!) !== 0).toBe(true);
      }
    }
    // Such sets exist among this many 32-bit keys: the check above is not empty.
    expect(cancelInA).toBeGreaterThan(0);
  });
});
