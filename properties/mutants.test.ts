/**
 * The properties have teeth: each deliberately broken reducer is caught by random histories (not by a
 * history written for it) within a bounded number of runs and time, on 3 and on 5 nodes. The first failing
 * history is enough here; replay.test.ts shows failures shrunk to a few actions.
 */
import { describe, expect, it } from 'vitest';
import { propertySeed } from './env.js';
import { expectCaught } from './expectations.js';
import type { MutantName } from './mutants.js';
import { checkProperty } from './property.js';

const MAX_RUNS = 2_000;
/** Generous: a mutant is caught within a few hundred histories, a few seconds, but a loaded machine is slow. */
const TIME_LIMIT_MS = 30_000;

const SAFETY_MUTANTS: readonly MutantName[] = [
  'commits-earlier-terms',
  'votes-for-any-log',
  'sends-before-persisting',
  'forgets-voted-for',
  'installs-older-snapshots',
  'compacts-to-applied',
  'skips-joint-consensus',
  'reads-without-confirmation',
];

describe.each([3, 5])('on %i nodes', (size) => {
  it.each(SAFETY_MUTANTS)('safety catches %s', (mutant) => {
    expectCaught({
      property: 'safety',
      size,
      mutant,
      maxRuns: MAX_RUNS,
      timeLimitMs: TIME_LIMIT_MS,
      shrink: false,
    });
  });
});

it('liveness catches a reducer that never commits (ignores-acks), which safety cannot', () => {
  const mutant = 'ignores-acks';
  const caught = expectCaught({
    property: 'liveness',
    size: 3,
    mutant,
    maxRuns: MAX_RUNS,
    timeLimitMs: TIME_LIMIT_MS,
    shrink: false,
  });
  expect(caught.failure?.trace.violation.property).toBe('liveness');
  expect(
    checkProperty({ property: 'safety', size: 3, mutant, runs: 50, seed: propertySeed() }).failure,
  ).toBeUndefined();
});
