import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { committedIndex, majority, voteResult } from './quorum.js';

describe('quorum arithmetic', () => {
  it('a majority is more than half', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(majority)).toEqual([1, 2, 2, 3, 3, 4, 4]);
  });

  it('the committed index is the highest index a majority holds', () => {
    const matches: Record<string, number> = { a: 9, b: 7, c: 3, d: 7, e: 1 };
    expect(committedIndex(Object.keys(matches), (id) => matches[id]!)).toBe(7);
    expect(committedIndex(['a', 'b', 'c'], (id) => ({ a: 5, b: 0, c: 0 })[id]!)).toBe(0);
    expect(committedIndex(['a', 'b'], (id) => ({ a: 5, b: 4 })[id]!)).toBe(4);
    expect(committedIndex(['a'], () => 6)).toBe(6);
    expect(committedIndex([], () => 6)).toBe(0);
  });

  it('the committed index is the match at position majority - 1 in descending order, for any matches', () => {
    const seed = Number(process.env.PROPERTY_SEED ?? Date.now() % 2 ** 31);
    console.log(`committed index property: seed ${seed}`);
    fc.assert(
      fc.property(fc.array(fc.nat(20), { minLength: 1, maxLength: 9 }), (matches) => {
        const voters = matches.map((_, i) => `n${i}`);
        const sorted = [...matches].sort((a, b) => b - a);
        expect(committedIndex(voters, (id) => matches[Number(id.slice(1))]!)).toBe(
          sorted[majority(matches.length) - 1],
        );
      }),
      { seed, numRuns: 2000 },
    );
  });

  it('an election is won with a majority, lost once a majority refused, pending otherwise', () => {
    const voters = ['a', 'b', 'c', 'd', 'e'];
    expect(voteResult(voters, ['a', 'b', 'c'], [])).toBe('won');
    expect(voteResult(voters, ['a', 'b'], ['c', 'd'])).toBe('pending');
    expect(voteResult(voters, ['a'], ['c', 'd', 'e'])).toBe('lost');
    expect(voteResult(voters, ['a', 'x', 'y'], [])).toBe('pending');
  });
});
