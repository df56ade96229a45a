/**
 * The knobs of a property run, from the environment:
 * - PROPERTY_SEED: fast-check's seed (default: from the clock). Every run prints it; a failing seed
 *   reproduces the same histories, the same failure and the same shrunk counterexample.
 * - PROPERTY_RUNS: histories per property (default: moderate, set by each test so `npm test` stays quick).
 * - PROPERTY_TRACES: where failing traces are written (default: traces/ at the repository root).
 */
import { fileURLToPath } from 'node:url';

function integerFrom(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`${name} must be an integer, got ${text}`);
  return value;
}

/**
 * One seed per process, so that every property in a run prints (and reproduces with) the same one. A `vitest`
 * run, whose test files each run in a worker of their own, sets PROPERTY_SEED once for all of them
 * (test/support/run-seeds.ts).
 */
const clockSeed = Date.now() % 2 ** 31;

export function propertySeed(): number {
  return integerFrom('PROPERTY_SEED') ?? clockSeed;
}

export function propertyRuns(fallback: number): number {
  return integerFrom('PROPERTY_RUNS') ?? fallback;
}

export function traceDirectory(): string {
  return process.env.PROPERTY_TRACES ?? fileURLToPath(new URL('../traces/', import.meta.url));
}
