/** Runs one of the lab's tests on one seed, as the lab does: begin, the body, end. Free of any test runner. */
import { performance } from 'node:perf_hooks';
import type { Reducer } from '../../src/runtime/simulator/index.js';
import { type Command, Lab } from './harness.js';
import type { Part, Scenario } from './scenario.js';

export interface Outcome {
  /** The lab's two lines: "Test (B): name ..." (with the seed) and "  ... Passed --" or "  ... FAILED". */
  readonly report: string;
  readonly passed: boolean;
  /** The failure, its message naming the seed and how to reproduce it. */
  readonly error?: Error;
  readonly wallMs: number;
  readonly virtualMs: number;
}

/** A vitest -t pattern that matches `name` literally. */
function namePattern(name: string): string {
  return name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `reducer` replaces the real core, to show that the suite catches a broken one. */
export function runScenario(
  part: Part,
  scenario: Scenario,
  seed: number,
  reducer?: Reducer<Command>,
): Outcome {
  const wallStart = performance.now();
  const { servers, unreliable = false, snapshots = false } = scenario;
  const cfg = new Lab({ servers, unreliable, snapshots, seed, ...(reducer && { reducer }) });
  cfg.begin(`Test (${part}): ${scenario.name}`);
  const header = `${cfg.description} ...  [seed ${seed}]`;
  const cost = () => ({ wallMs: performance.now() - wallStart, virtualMs: cfg.sim.now });
  try {
    cfg.tasks.run(scenario.run(cfg));
    return { report: `${header}\n${cfg.end()}`, passed: true, ...cost() };
  } catch (cause) {
    const message = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    const error = new Error(
      `${cfg.description}, seed ${seed}: ${message}\n` +
        `  reproduce: ${process.env.LAB_PAPER === '1' ? 'LAB_PAPER=1 ' : ''}LAB_SEED=${seed} npx vitest run test/lab -t '${namePattern(scenario.name)}'`,
      { cause },
    );
    return { report: `${header}\n  ... FAILED`, passed: false, error, ...cost() };
  }
}
