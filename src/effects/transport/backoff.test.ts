import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

const bounds = { initialMs: 100, maxMs: 1_000 };

describe('backoffDelay', () => {
  it('doubles its ceiling per failure, up to the cap', () => {
    const ceilings = [1, 2, 3, 4, 5, 50].map((failures) => backoffDelay(failures, bounds, () => 1));
    expect(ceilings).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('jitters within the upper half of the ceiling', () => {
    expect(backoffDelay(2, bounds, () => 0)).toBe(100);
    expect(backoffDelay(2, bounds, () => 0.5)).toBe(150);
    for (let i = 0; i < 100; i++) {
      const delay = backoffDelay(3, bounds);
      expect(delay).toBeGreaterThanOrEqual(200);
      expect(delay).toBeLessThan(400);
    }
  });
});
