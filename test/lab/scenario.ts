/** The shape of one of the lab's tests, free of any test runner so that scripts can run it too. */
import type { Lab } from './harness.js';
import type { Task } from './tasks.js';

/** A: leader election; B: agreement; C: persistence, Figure 8 and churn; D: snapshots. */
export type Part = 'A' | 'B' | 'C' | 'D';

export interface Scenario {
  /** The lab's test name, as it prints it. */
  readonly name: string;
  readonly servers: number;
  readonly unreliable?: boolean;
  /** make_config's snapshot flag: the servers run the lab's snapshot applier. */
  readonly snapshots?: boolean;
  /** The test's body, between the lab's cfg.begin() and cfg.end(). */
  readonly run: (cfg: Lab) => Task;
}
