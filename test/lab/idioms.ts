/** Steps that several of the lab's tests share, written once. */
import type { Lab } from './harness.js';
import { sleep, type Task } from './tasks.js';

/** The lab's "check that the command did not commit" after a leader lost its majority. */
export function checkNotCommitted(cfg: Lab, index: number): void {
  const [count] = cfg.nCommitted(index);
  if (count > 0) cfg.fail(`${count} committed but no majority`);
}

/**
 * The lab's retry loop for checks that only hold within one term (concurrent Start()s, RPC counts):
 * `attempt` returns false when the term changed under it, and is tried again 3 s later, 5 times at most.
 */
export function* withStableTerm(cfg: Lab, attempt: () => Task<boolean>): Task {
  for (let tries = 0; tries < 5; tries++) {
    // Give the cluster some time to settle.
    if (tries > 0) yield* sleep(3_000);
    if (yield* attempt()) return;
  }
  cfg.fail('term changed too often');
}

/** Whether every server is still in `term` (the lab's GetState loop). */
export function allInTerm(cfg: Lab, term: number): boolean {
  return Array.from({ length: cfg.n }, (_, i) => cfg.getState(i).term).every((t) => t === term);
}
