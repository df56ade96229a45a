import { describe, it } from 'vitest';
import { expectHolds } from './expectations.js';

describe.each([3, 5, 7])('on %i nodes', (size) => {
  it('every safety property holds after every step of random faulty histories', () => {
    expectHolds('safety', size, 400);
  });
});
