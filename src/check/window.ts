/**
 * Why a partition is not linearizable, made short: the operation whose completion first makes the history
 * non-linearizable (the culprit), and a window of operations around it that admits no linearization from any
 * state the operations before it could have left.
 *
 * 1. The culprit. Cutting a history at time T (operations invoked after T left out, operations still running
 *    at T made unknown) keeps a linearizable history linearizable, so a binary search over completion times
 *    finds the first cut that fails; the operation completing there is the culprit.
 * 2. The window. For a cut time t at or before the culprit's invocation, the window is every operation
 *    invoked from t on; those running across t, and those of unknown outcome, join it relaxed to an unknown
 *    outcome invoked at t (they may have taken effect before the window, or inside it). In any linearization
 *    of the whole, what is linearized before the window's first known operation leaves one of the model's
 *    `startStates` for the rest, and the rest linearizes the window; so a window that fails from every start
 *    state proves the history is not linearizable. t moves back from the culprit until a window fails. A model
 *    without `startStates`, or no failing window, gives the whole cut history from `init()`. Reads the window
 *    still fails without are then dropped from it (a read changes no state, so that stays a proof).
 * 3. Re-verification: the window is checked again by the plain search without memoization, an independent
 *    implementation of the same definition.
 */
import type { Operation } from './history.js';
import type { Model } from './model.js';
import { type SearchOptions, searchLinearization } from './search.js';

export interface Failure<I, O> {
  readonly partition: string;
  /** The operation whose completion first makes the history non-linearizable. */
  readonly culprit: Operation<I, O>;
  /** The operations that admit no linearization, as given in the history, in invocation order. */
  readonly window: readonly Operation<I, O>[];
  /**
   * The window as it was checked, for re-checking it elsewhere: operations still running at the culprit's
   * completion have an unknown outcome here, and unknown ones invoked before the window start with it.
   */
  readonly checked: readonly Operation<I, O>[];
  /** The states the window was checked from: `init()` alone when `fromInit`. */
  readonly startStates: readonly unknown[];
  /** The window is the whole history up to the culprit's completion, checked from `init()`. */
  readonly fromInit: boolean;
  /** The plain search without memoization agreed that the window has no linearization. */
  readonly verified: boolean;
  /**
   * The plain search found a linearization of the window: the memoized search's verdict was wrong (two
   * configurations shared a fingerprint). `checkLinearizable` then checks the partition again without memos.
   */
  readonly contradicted: boolean;
}

/** A checked operation and the one in the history it stands for (checked as unknown, or clamped). */
interface Item<I, O> {
  readonly checked: Operation<I, O>;
  readonly original: Operation<I, O>;
}

/** Steps the independent re-verification may take before it gives up (and says the window is unverified). */
const VERIFY_STEPS = 300_000;
/** Cut times tried for a window before settling for the whole cut history. */
const MAX_CUTS = 200;

const unknown = <I, O>({ client, input, invoked }: Operation<I, O>): Operation<I, O> => ({
  client,
  input,
  invoked,
});

/** The history cut at `time`, with unknown read-only operations left out. */
function cut<S, I, O>(
  model: Model<S, I, O>,
  operations: readonly Operation<I, O>[],
  time: number,
): Item<I, O>[] {
  const items: Item<I, O>[] = [];
  for (const original of operations) {
    if (original.invoked > time) continue;
    const known = original.completed !== undefined && original.completed <= time;
    if (!known && model.readOnly?.(original.input) === true) continue;
    items.push({ checked: known ? original : unknown(original), original });
  }
  return items;
}

function fails<S, I, O>(
  model: Model<S, I, O>,
  operations: readonly Operation<I, O>[],
  starts: readonly S[],
  limits: SearchOptions,
): boolean | 'timeout' {
  for (const start of starts) {
    const { outcome } = searchLinearization(model, operations, start, limits);
    if (outcome === 'timeout') return 'timeout';
    if (outcome === 'linearizable') return false;
  }
  return true;
}

/**
 * The window for cut time `t`: the known operations invoked from t on, as they are; those running across t
 * relaxed to an unknown outcome invoked at t (which only adds linearizations, so a failure still proves one);
 * and the unknown ones, also from t at the earliest. `before` is what may have taken effect before the window.
 */
function windowAt<S, I, O>(model: Model<S, I, O>, items: readonly Item<I, O>[], t: number) {
  const inside: Item<I, O>[] = [];
  const before: Operation<I, O>[] = [];
  for (const item of items) {
    const { checked } = item;
    const completed = checked.completed ?? Number.POSITIVE_INFINITY;
    if (checked.invoked >= t) inside.push(item);
    else if (completed < t) before.push(checked);
    else if (model.readOnly?.(checked.input) !== true) {
      const relaxed = { ...unknown(checked), invoked: t };
      before.push(relaxed);
      inside.push({ ...item, checked: relaxed });
    }
  }
  return { inside, before };
}

export function findFailure<S, I, O>(
  model: Model<S, I, O>,
  partition: string,
  operations: readonly Operation<I, O>[],
  budgetMs: number,
  tuning: Pick<SearchOptions, 'fingerprintBits'> = {},
): Failure<I, O> | undefined {
  const limits = { ...tuning, deadline: performance.now() + budgetMs };
  const times = [
    ...new Set(operations.flatMap((o) => (o.completed === undefined ? [] : [o.completed]))),
  ].sort((a, b) => a - b);
  // Binary search for the first failing cut: every cut from there on fails.
  let low = 0;
  let high = times.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    const verdict = fails(
      model,
      cut(model, operations, times[middle]!).map((i) => i.checked),
      [model.init()],
      limits,
    );
    if (verdict === 'timeout') return undefined;
    if (verdict) high = middle;
    else low = middle + 1;
  }
  const time = times[low];
  if (time === undefined) return undefined;
  const items = cut(model, operations, time);
  const culprit = culpritAt(model, items, time, limits);
  const chosen = narrowest(model, items, culprit, limits) ?? {
    inside: items,
    starts: [model.init()],
    fromInit: true,
  };
  const checked = chosen.inside.map((item) => item.checked);
  const outcomes = chosen.starts.map(
    (start) =>
      searchLinearization(model, checked, start, { ...tuning, memo: false, maxSteps: VERIFY_STEPS }).outcome,
  );
  const verified = outcomes.every((outcome) => outcome === 'not-linearizable');
  return {
    contradicted: outcomes.includes('linearizable'),
    partition,
    culprit,
    window: chosen.inside.map((item) => item.original).sort((a, b) => a.invoked - b.invoked),
    checked,
    startStates: chosen.starts,
    fromInit: chosen.fromInit,
    verified,
  };
}

/**
 * Of the operations completing at `time`, the one whose completion breaks the history: with it alone left
 * unknown, the rest has a linearization (when several complete at once; else the first).
 */
function culpritAt<S, I, O>(
  model: Model<S, I, O>,
  items: readonly Item<I, O>[],
  time: number,
  limits: SearchOptions,
) {
  const candidates = items.filter(({ checked }) => checked.completed === time);
  if (candidates.length === 1) return candidates[0]!.original;
  const found = candidates.find(
    (candidate) =>
      fails(
        model,
        items
          .filter((item) => item !== candidate || model.readOnly?.(item.checked.input) !== true)
          .map((item) => (item === candidate ? unknown(item.checked) : item.checked)),
        [model.init()],
        limits,
      ) === false,
  );
  return (found ?? candidates[0]!).original;
}

/** The failing window with the latest cut time, trying cut times back from the culprit's invocation. */
function narrowest<S, I, O>(
  model: Model<S, I, O>,
  items: readonly Item<I, O>[],
  culprit: Operation<I, O>,
  limits: SearchOptions,
) {
  const startStates = model.startStates;
  if (startStates === undefined) return undefined;
  const cuts = [...new Set(items.map(({ checked }) => checked.invoked))]
    .filter((t) => t <= culprit.invoked)
    .sort((a, b) => b - a);
  for (const t of cuts.slice(0, MAX_CUTS)) {
    const { inside, before } = windowAt(model, items, t);
    const starts = startStates.call(model, before);
    const verdict = fails(
      model,
      inside.map((item) => item.checked),
      starts,
      limits,
    );
    if (verdict === 'timeout') return undefined;
    if (verdict)
      return {
        inside: withoutNeedlessReads(model, inside, culprit, starts, limits),
        starts,
        fromInit: false,
      };
  }
  return undefined;
}

/**
 * Drops the read-only operations (but the culprit) the window fails without, one at a time. Sound: a
 * linearization of the window gives one of the window without a read, so if that has none, neither has the
 * window.
 */
function withoutNeedlessReads<S, I, O>(
  model: Model<S, I, O>,
  inside: readonly Item<I, O>[],
  culprit: Operation<I, O>,
  starts: readonly S[],
  limits: SearchOptions,
): Item<I, O>[] {
  let kept = [...inside];
  for (const item of inside) {
    if (item.original === culprit || model.readOnly?.(item.checked.input) !== true) continue;
    const without = kept.filter((other) => other !== item);
    const verdict = fails(
      model,
      without.map((other) => other.checked),
      starts,
      limits,
    );
    if (verdict === 'timeout') break;
    if (verdict) kept = without;
  }
  return kept;
}
