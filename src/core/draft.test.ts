import { produce } from 'immer';
import { describe, expect, it } from 'vitest';
import { follower } from '../../test/support/core.js';
import { copyByHand, finishByHand } from './draft.js';
import type { RaftState } from './index.js';

describe('a state changed by hand', () => {
  const base = follower('a');

  it('is the base itself when nothing changed, as with immer', () => {
    expect(finishByHand(base, copyByHand(base))).toBe(base);
    expect(produce(base, () => {})).toBe(base);
  });

  it('is a frozen copy once any field changed, with a new array deep-frozen', () => {
    const fields = Object.keys(base) as (keyof RaftState<string>)[];
    expect(fields.length).toBe(20);
    for (const field of fields) {
      const copy = copyByHand(base) as unknown as Record<string, unknown>;
      const before = base[field];
      copy[field] = Array.isArray(before) ? [{ round: 1 }] : typeof before === 'object' ? {} : `${before}!`;
      const next = finishByHand(base, copy as never);
      expect(next, `a change to ${field}`).not.toBe(base);
      expect(Object.isFrozen(next)).toBe(true);
      expect(next[field]).toBe(copy[field]);
      if (Array.isArray(before)) expect(Object.isFrozen((next[field] as object[])[0])).toBe(true);
    }
  });

  it('copies every field', () => {
    expect({ ...copyByHand(base) }).toEqual({ ...base });
  });
});
