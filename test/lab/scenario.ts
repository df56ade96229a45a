/** The shape of one of the lab's tests, free of any test runner so that scripts can run it too. */
import type { Lab } from './harness.js';
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
