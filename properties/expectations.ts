/** What the property tests assert, in one place: run a property, print its seed, and explain a failure. */
import { expect } from 'vitest';
import { propertyRuns, propertySeed, traceDirectory } from './env.js';
import type { MutantName } from './mutants.js';
import {
  checkProperty,
  describeFailure,
  describeRun,
  type PropertyOutcome,
  type PropertyRun,
} from './property.js';
import type { PropertyKind } from './trace.js';

/** The property holds on `PROPERTY_RUNS` (default `defaultRuns`) random histories; a failure leaves a trace. */
export function expectHolds(property: PropertyKind, size: number, defaultRuns: number): void {
  const run: PropertyRun = {
    property,
    size,
    runs: propertyRuns(defaultRuns),
    seed: propertySeed(),
    traceDirectory: traceDirectory(),
  };
  console.log(describeRun(run));
  const outcome = checkProperty(run);
  expect(outcome.failure, describeFailure(run, outcome)).toBeUndefined();
}

export interface Catch {
  readonly property: PropertyKind;
  readonly size: number;
  readonly mutant: MutantName;
  readonly maxRuns: number;
  /** Bounds the search and the shrinking together; a shrink cut short still reports its best so far. */
  readonly timeLimitMs: number;
  readonly shrink: boolean;
}

/** The property catches the mutant within the bounds; returns what it found. */
export function expectCaught({ maxRuns, ...rest }: Catch): PropertyOutcome {
  const run: PropertyRun = { ...rest, runs: maxRuns, seed: propertySeed() };
  const outcome = checkProperty(run);
  console.log(describeFailure(run, outcome));
  expect(outcome.failure, `${describeRun(run)}: not caught`).toBeDefined();
  return outcome;
}
