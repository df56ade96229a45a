/**
 * Registers the lab's tests with vitest: each test once per seed (seeds.ts), printing the lab's report lines
 * as it goes, then the wall time each part and the whole suite took against the virtual time they simulated
 * (the reference lab spends about 190 s of real time on its agreement and persistence tests).
 */
import { afterAll, describe, it } from 'vitest';
import { type Outcome, runScenario } from './run.js';
import type { Part, Scenario } from './scenario.js';
import { labSeeds } from './seeds.js';

export interface LabPart {
  readonly part: Part;
  readonly scenarios: readonly Scenario[];
}

/** Whole lines in one write: vitest's console capture would add a header to every line. */
function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

class Tally {
  runs = 0;
  failed = 0;
  wallMs = 0;
  virtualMs = 0;

  add(outcome: Outcome): void {
    this.runs++;
    if (!outcome.passed) this.failed++;
    this.wallMs += outcome.wallMs;
    this.virtualMs += outcome.virtualMs;
  }

  summary(title: string): string {
    return (
      `${title}: ${this.runs} runs, ${this.failed} failed, ${(this.wallMs / 1000).toFixed(2)} s of wall time ` +
      `for ${(this.virtualMs / 1000).toFixed(1)} s of virtual time`
    );
  }
}

export function labSuite(parts: readonly LabPart[]): void {
  const { seeds, label } = labSeeds();
  const total = new Tally();
  for (const { part, scenarios } of parts) {
    describe(`lab part ${part}`, () => {
      const tally = new Tally();
      for (const scenario of scenarios) {
        for (const seed of seeds) {
          it(`${scenario.name} (seed ${seed})`, () => {
            const outcome = runScenario(part, scenario, seed);
            tally.add(outcome);
            total.add(outcome);
            print(outcome.report);
            if (outcome.error !== undefined) throw outcome.error;
          });
        }
      }
      afterAll(() =>
        print(tally.summary(`lab part ${part} (${scenarios.length} tests × ${seeds.length} seeds)`)),
      );
    });
  }
  afterAll(() => print(total.summary(`lab suite, ${label}`)));
}
