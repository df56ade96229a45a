/**
 * `checkLinearizable`: is a history linearizable with respect to a model? The history is split into the
 * model's partitions (P-compositionality: a history is linearizable if and only if each partition is), each
 * searched alone within a time budget; the first partition that fails is explained by a short window.
 */
import { type History, historyProblem, type Operation } from './history.js';
import type { Model } from './model.js';
import { searchLinearization } from './search.js';
import { type Failure, findFailure } from './window.js';

export type Verdict = 'linearizable' | 'not-linearizable' | 'unknown';

export interface CheckOptions {
  /**
   * Time allowed per partition, for the search and again for explaining a failure (and, should the plain
   * search contradict the memoized one, again for a search without memos). Default 10 s.
   */
  readonly budgetMs?: number;
  /** Explain the first failing partition with a window (a few more searches). Default true. */
  readonly explain?: boolean;
  /** Lowe's memoization; off only to measure what it buys (bench/check.ts). Default true. */
  readonly memo?: boolean;
  /** Give up on a partition after this many steps (with 'unknown'), as well as after `budgetMs`. */
  readonly maxSteps?: number;
  /** For testing the checker: see `SearchOptions.fingerprintBits`. */
  readonly fingerprintBits?: number;
}

export interface PartitionReport {
  readonly partition: string;
  readonly verdict: Verdict;
  readonly operations: number;
  /** Attempts to linearize an operation. */
  readonly steps: number;
  readonly elapsedMs: number;
}

export interface CheckResult<I, O> {
  /** 'unknown' when no partition failed but some ran out of time: an honest "could not tell". */
  readonly verdict: Verdict;
  readonly operations: number;
  readonly partitions: readonly PartitionReport[];
  /** The first failing partition, explained (absent if explaining ran out of time). */
  readonly failure?: Failure<I, O>;
  readonly elapsedMs: number;
}

export const DEFAULT_BUDGET_MS = 10_000;

/** The history's operations by partition, in the order first seen; unknown read-only operations are left out. */
export function partitionHistory<S, I, O>(
  model: Model<S, I, O>,
  history: History<I, O>,
): Map<string, Operation<I, O>[]> {
  const partitions = new Map<string, Operation<I, O>[]>();
  for (const operation of history) {
    if (operation.completed === undefined && model.readOnly?.(operation.input) === true) continue;
    const name = model.partition?.(operation.input) ?? '';
    const operations = partitions.get(name);
    if (operations === undefined) partitions.set(name, [operation]);
    else operations.push(operation);
  }
  return partitions;
}

/** The failure with the operations of the history in place of their abstractions (the `checked` ones stay). */
function originals<I, O>(
  failure: Failure<I, O> | undefined,
  abstracted: readonly Operation<I, O>[],
  given: readonly Operation<I, O>[],
): Failure<I, O> | undefined {
  if (failure === undefined || abstracted === given) return failure;
  const original = new Map(abstracted.map((operation, i) => [operation, given[i]!]));
  const back = (operation: Operation<I, O>) => original.get(operation) ?? operation;
  return { ...failure, culprit: back(failure.culprit), window: failure.window.map(back) };
}

export function checkLinearizable<S, I, O>(
  model: Model<S, I, O>,
  history: History<I, O>,
  options: CheckOptions = {},
): CheckResult<I, O> {
  const problem = historyProblem(history);
  if (problem !== undefined) throw new RangeError(`not a well-formed history: ${problem}`);
  const budgetMs = options.budgetMs ?? DEFAULT_BUDGET_MS;
  const tuning = options.fingerprintBits === undefined ? {} : { fingerprintBits: options.fingerprintBits };
  const began = performance.now();
  const partitions: PartitionReport[] = [];
  let failure: Failure<I, O> | undefined;
  for (const [partition, given] of partitionHistory(model, history)) {
    const started = performance.now();
    const operations = model.abstract?.(given) ?? given;
    const search = (memo: boolean | undefined) =>
      searchLinearization(model, operations, model.init(), {
        deadline: performance.now() + budgetMs,
        ...(memo !== undefined && { memo }),
        ...(options.maxSteps !== undefined && { maxSteps: options.maxSteps }),
        ...tuning,
      });
    let { outcome, steps } = search(options.memo);
    let found: Failure<I, O> | undefined;
    if (outcome === 'not-linearizable' && failure === undefined && options.explain !== false) {
      found = findFailure(model, partition, operations, budgetMs, tuning);
      if (found?.contradicted === true) {
        // A fingerprint shared by two configurations hid a linearization: the plain search decides.
        found = undefined;
        const plain = search(false);
        outcome = plain.outcome;
        steps += plain.steps;
      }
    }
    const verdict: Verdict = outcome === 'timeout' ? 'unknown' : outcome;
    partitions.push({
      partition,
      verdict,
      operations: operations.length,
      steps,
      elapsedMs: performance.now() - started,
    });
    if (verdict === 'not-linearizable' && found !== undefined) failure = originals(found, operations, given);
  }
  const verdicts = new Set(partitions.map((p) => p.verdict));
  const verdict: Verdict = verdicts.has('not-linearizable')
    ? 'not-linearizable'
    : verdicts.has('unknown')
      ? 'unknown'
      : 'linearizable';
  return {
    verdict,
    operations: history.length,
    partitions,
    ...(failure !== undefined && { failure }),
    elapsedMs: performance.now() - began,
  };
}
