/**
 * A failing history as a JSON file: everything needed to run it again exactly (size, config, actions, and
 * which reducer), plus where it came from (property, fast-check seed and path) and what it broke.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMutantName, type MutantName } from './mutants.js';
import { isPropertyKind, PROPERTY_KINDS, type PropertyKind } from './property-kind.js';
import type { Violation } from './run.js';
import type { Scenario } from './scenario.js';

export type { PropertyKind } from './property-kind.js';

export interface Trace extends Scenario {
  readonly property: PropertyKind;
  /** The broken reducer it ran, if not the real one. */
  readonly mutant?: MutantName;
  /** fast-check's seed and counterexample path: `PROPERTY_SEED=<seed>` regenerates it. */
  readonly seed: number;
  readonly path?: string;
  readonly violation: Violation;
}

export function traceName(trace: Trace): string {
  const what = trace.mutant === undefined ? trace.property : `${trace.property}-${trace.mutant}`;
  return `${what}-${trace.size}n-${trace.seed}.json`;
}

/** Writes the trace into `directory` (created if needed) and returns its path. */
export function writeTrace(directory: string, trace: Trace): string {
  mkdirSync(directory, { recursive: true });
  const path = join(directory, traceName(trace));
  writeFileSync(path, `${JSON.stringify(trace, null, 1)}\n`);
  return path;
}

/** Reads a trace, checking its outline (a hand-edited trace should fail clearly, not halfway through). */
export function readTrace(path: string): Trace {
  const trace = JSON.parse(readFileSync(path, 'utf8')) as Trace;
  const problems = [
    isPropertyKind(trace.property) ? '' : `property is not one of ${PROPERTY_KINDS.join(', ')}`,
    Number.isSafeInteger(trace.size) && trace.size > 0 ? '' : 'size is not a positive integer',
    typeof trace.config === 'object' && trace.config !== null ? '' : 'config is missing',
    Array.isArray(trace.actions) ? '' : 'actions is not a list',
    trace.mutant === undefined || isMutantName(trace.mutant) ? '' : `unknown mutant ${trace.mutant}`,
  ].filter((problem) => problem !== '');
  if (problems.length > 0) throw new Error(`${path} is not a trace: ${problems.join('; ')}`);
  return trace;
}
