import { describe, it } from 'vitest';
import { expectHolds } from './expectations.js';

describe.each([3, 5, 7])('on %i nodes', (size) => {
  it('after a random faulty history and healing, a command proposed on the leader is applied everywhere', () => {
    expectHolds('liveness', size, 200);
  });
});
