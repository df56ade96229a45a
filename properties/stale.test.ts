import { describe, expect, it } from 'vitest';
import { expectCaught, expectHolds } from './expectations.js';

describe.each([3, 5])('on %i nodes', (size) => {
  it('answers that arrive terms late, after the leadership left and came back, never confirm a read', () => {
    expectHolds('stale', size, 100);
  });

  it('a core that echoes the round in an answer of an earlier term answers a read stale: the histories have teeth', () => {
    const caught = expectCaught({
      property: 'stale',
      size,
      mutant: 'echoes-stale-rounds',
      maxRuns: 500,
      timeLimitMs: 20_000,
      shrink: false,
    });
    expect(caught.failure?.trace.violation.property).toBe('linearizable reads');
  });
});
