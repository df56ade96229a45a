/**
 * A property over random histories, run with fast-check: generate scenarios, judge each one, shrink a failure
 * to a small counterexample and write it as a trace. The seed is always explicit and printed, so any run can
 * be repeated exactly with PROPERTY_SEED.
 */
import fc from 'fast-check';
import { scenarioArbitrary } from './arbitraries.js';
import { MUTANTS, type MutantName } from './mutants.js';
import { propertyOptions } from './property-options.js';
import { rejoinArbitrary } from './rejoin.js';
import { runScenario, type Violation } from './run.js';
import type { Scenario } from './scenario.js';
import { staleArbitrary } from './stale.js';
import { type PropertyKind, type Trace, writeTrace } from './trace.js';

export interface PropertyRun {
  readonly property: PropertyKind;
  readonly size: number;
  readonly runs: number;
  readonly seed: number;
  /** Run against a broken reducer instead of the real one. */
  readonly mutant?: MutantName;
  /** Stop generating (and shrinking) after this long; a failure found by then is still reported. */
  readonly timeLimitMs?: number;
  /** Shrink a failure to a small counterexample (the default), or report the first failing history as is. */
  readonly shrink?: boolean;
  /** Where to write the trace of a failure; none is written without it. */
  readonly traceDirectory?: string;
}

export interface PropertyOutcome {
  /** Histories run before stopping (the failing one included). */
  readonly runs: number;
  readonly failure?: {
    readonly trace: Trace;
    readonly shrinks: number;
    readonly tracePath?: string;
  };
}

/** The histories a property runs on. */
function arbitraryOf(property: PropertyKind, size: number): fc.Arbitrary<Scenario> {
  switch (property) {
    case 'rejoin':
      return rejoinArbitrary(size);
    case 'stale':
      return staleArbitrary(size);
    default:
      return scenarioArbitrary(size);
  }
}

/** Runs one history under the property; the first violation, if any. Deterministic. */
export function judge(
  property: PropertyKind,
  scenario: Scenario,
  mutant?: MutantName,
): Violation | undefined {
  return runScenario(scenario, {
    ...(mutant && { reducer: MUTANTS[mutant] }),
    ...propertyOptions(property, scenario),
  });
}

export function describeRun(run: PropertyRun): string {
  const against = run.mutant === undefined ? '' : ` against mutant ${run.mutant}`;
  return `${run.property} on ${run.size} nodes${against}: ${run.runs} histories, PROPERTY_SEED=${run.seed}`;
}

export function checkProperty(run: PropertyRun): PropertyOutcome {
  const details = fc.check(
    fc.property(
      arbitraryOf(run.property, run.size),
      (scenario) => judge(run.property, scenario, run.mutant) === undefined,
    ),
    {
      seed: run.seed,
      numRuns: run.runs,
      ...(run.timeLimitMs !== undefined && { interruptAfterTimeLimit: run.timeLimitMs }),
      endOnFailure: run.shrink === false,
    },
  );
  if (!details.failed || details.counterexample === null) return { runs: details.numRuns };
  const [scenario] = details.counterexample;
  const violation = judge(run.property, scenario, run.mutant)!;
  const trace: Trace = {
    property: run.property,
    ...(run.mutant && { mutant: run.mutant }),
    seed: run.seed,
    ...(details.counterexamplePath !== null && { path: details.counterexamplePath }),
    violation,
    ...scenario,
  };
  const tracePath = run.traceDirectory === undefined ? undefined : writeTrace(run.traceDirectory, trace);
  return {
    runs: details.numRuns,
    failure: { trace, shrinks: details.numShrinks, ...(tracePath && { tracePath }) },
  };
}

/** The message a failing test shows: what broke, the counterexample's size, and how to look at it again. */
export function describeFailure(run: PropertyRun, outcome: PropertyOutcome): string {
  const failure = outcome.failure;
  if (failure === undefined) return `${describeRun(run)}: held`;
  const { violation, actions } = failure.trace;
  return [
    `${describeRun(run)}: failed after ${outcome.runs} histories`,
    `  ${violation.message} (at action ${violation.step} of ${actions.length}, after ${failure.shrinks} shrinks)`,
    failure.tracePath === undefined ? '' : `  replay: npm run replay -- ${failure.tracePath}`,
    `  rerun:  PROPERTY_SEED=${run.seed} PROPERTY_RUNS=${run.runs} npx vitest run properties`,
  ]
    .filter((line) => line !== '')
    .join('\n');
}
