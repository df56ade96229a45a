/**
 * Registers the lab's scenarios with vitest: each scenario once per seed (seeds.ts), printing the lab's
 * report lines as it goes and, after the part, its total wall time against the virtual time it simulated
 * (the reference lab spends about 190 s of real time on part B alone).
 */
import { performance } from 'node:perf_hooks';
import { afterAll, describe, it } from 'vitest';
import { Lab } from './harness.js';
import { labSeeds } from './seeds.js';
import type { Task } from './tasks.js';

/** A: leader election; B: agreement; C: persistence, Figure 8 and churn. */
export type Part = 'A' | 'B' | 'C';

export interface Scenario {
  /** The lab's test name, as it prints it. */
  readonly name: string;
  readonly servers: number;
  readonly unreliable?: boolean;
  /** The test's body, between the lab's cfg.begin() and cfg.end(). */
  readonly run: (cfg: Lab) => Task;
}

/** Whole lines in one write, so that parts running in parallel do not interleave within a report. */
function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** A vitest -t pattern that matches `name` literally. */
function namePattern(name: string): string {
  return name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function runScenario(part: Part, scenario: Scenario, seed: number): { wallMs: number; virtualMs: number } {
  const wallStart = performance.now();
  const cfg = new Lab({ servers: scenario.servers, unreliable: scenario.unreliable ?? false, seed });
  cfg.begin(`Test (${part}): ${scenario.name}`);
  const header = `${cfg.description} ...  [seed ${seed}]`;
  try {
    cfg.tasks.run(scenario.run(cfg));
    print(`${header}\n${cfg.end()}`);
  } catch (error) {
    print(`${header}\n  ... FAILED`);
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new Error(
      `${cfg.description}, seed ${seed}: ${message}\n` +
        `  reproduce: LAB_SEED=${seed} npx vitest run test/lab -t '${namePattern(scenario.name)}'`,
      { cause: error },
    );
  }
  return { wallMs: performance.now() - wallStart, virtualMs: cfg.sim.now };
}

/** Registers `scenarios` (the tests of one file, on one topic of one part) once per seed. */
export function labSuite(part: Part, topic: string, scenarios: readonly Scenario[]): void {
  const title = `lab part ${part}, ${topic}`;
  describe(title, () => {
    const seeds = labSeeds();
    let runs = 0;
    let wallMs = 0;
    let virtualMs = 0;
    for (const scenario of scenarios) {
      for (const seed of seeds) {
        it(`${scenario.name} (seed ${seed})`, () => {
          const cost = runScenario(part, scenario, seed);
          runs++;
          wallMs += cost.wallMs;
          virtualMs += cost.virtualMs;
        });
      }
    }
    afterAll(() => {
      print(
        `${title}: ${runs} runs (${scenarios.length} tests × ${seeds.length} seeds) in ` +
          `${(wallMs / 1000).toFixed(2)} s of wall time for ${(virtualMs / 1000).toFixed(1)} s of virtual time`,
      );
    });
  });
}
