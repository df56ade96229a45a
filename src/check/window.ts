/**
 * Why a partition is not linearizable, made short: the operation whose completion first makes the history
 * non-linearizable (the culprit), and a window of operations around it that admits no linearization from any
 * state the operations before it could have left.
 *
 * 1. The culprit. Cutting a history at time T (operations invoked after T left out, operations still running
 *    at T made unknown) keeps a linearizable history linearizable, so a binary search over completion times
 *    finds the first cut that fails; the operation completing there is the culprit.
 * 2. The window. For a cut time t before the culprit, the window is every operation still running at t or
 *    invoked later, widened back until everything outside it completed before all of it started (so in any
 *    linearization the outside comes first). Operations of unknown outcome stay in the window, as they may take
 *    effect at any time. The window fails if it has no linearization from any of the model's `startStates`
 *    for what completed before it; t moves back from the culprit until one fails. A model without
 *    `startStates`, or no failing window, gives the whole cut history from `init()`.
 * 3. Re-verification: the window is checked again by the plain search without memoization, an independent
 *    implementation of the same definition.
 */
import type { Operation } from './history.js';
import type { Model } from './model.js';
import { searchLinearization } from './search.js';

export interface Failure<I, O> {
  readonly partition: string;
  /** The operation whose completion first makes the history non-linearizable. */
  readonly culprit: Operation<I, O>;
  /** The operations that admit no linearization, as given in the history, in invocation order. */
  readonly window: readonly Operation<I, O>[];
  /** The states the window was checked from: `init()` alone when `fromInit`. */
  readonly startStates: readonly unknown[];
  /** The window is the whole history up to the culprit's completion, checked from `init()`. */
  readonly fromInit: boolean;
  /** The plain search without memoization agreed that the window has no linearization. */
  readonly verified: boolean;
}

/** A checked operation and the one in the history it stands for (checked as unknown, or clamped). */
interface Item<I, O> {
  readonly checked: Operation<I, O>;
  readonly original: Operation<I, O>;
}

/** Steps the independent re-verification may take before it gives up (and says the window is unverified). */
const VERIFY_STEPS = 2_000_000;
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
  deadline: number,
): boolean | 'timeout' {
  for (const start of starts) {
    const { outcome } = searchLinearization(model, operations, start, { deadline });
    if (outcome === 'timeout') return 'timeout';
    if (outcome === 'linearizable') return false;
  }
  return true;
}

/** The window for cut time `t`, and what completed before it; undefined if it is the same as `previous`. */
function windowAt<I, O>(items: readonly Item<I, O>[], t: number) {
  let start = t;
  for (;;) {
    let widened = start;
    for (const { checked } of items)
      if (checked.completed !== undefined && checked.completed >= start)
        widened = Math.min(widened, checked.invoked);
    if (widened === start) break;
    start = widened;
  }
  const inside: Item<I, O>[] = [];
  const before: Operation<I, O>[] = [];
  for (const item of items) {
    const { checked } = item;
    if (checked.completed === undefined) {
      // May have taken effect before the window (then `before` accounts for it) or inside it.
      if (checked.invoked < start) before.push(checked);
      inside.push(checked.invoked < start ? { ...item, checked: { ...checked, invoked: start } } : item);
    } else if (checked.completed >= start) inside.push(item);
    else before.push(checked);
  }
  return { start, inside, before };
}

export function findFailure<S, I, O>(
  model: Model<S, I, O>,
  partition: string,
  operations: readonly Operation<I, O>[],
  budgetMs: number,
): Failure<I, O> | undefined {
  const deadline = performance.now() + budgetMs;
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
      deadline,
    );
    if (verdict === 'timeout') return undefined;
    if (verdict) high = middle;
    else low = middle + 1;
  }
  const time = times[low];
  if (time === undefined) return undefined;
  const items = cut(model, operations, time);
  const culprit = items.find(({ checked }) => checked.completed === time)!.original;
  const chosen = narrowest(model, items, culprit, deadline) ?? {
    inside: items,
    starts: [model.init()],
    fromInit: true,
  };
  const checked = chosen.inside.map((item) => item.checked);
  const verified = chosen.starts.every(
    (start) =>
      searchLinearization(model, checked, start, { memo: false, maxSteps: VERIFY_STEPS }).outcome ===
      'not-linearizable',
  );
  return {
    partition,
    culprit,
    window: chosen.inside.map((item) => item.original).sort((a, b) => a.invoked - b.invoked),
    startStates: chosen.starts,
    fromInit: chosen.fromInit,
    verified,
  };
}

/** The failing window with the latest cut time, trying cut times back from the culprit's invocation. */
function narrowest<S, I, O>(
  model: Model<S, I, O>,
  items: readonly Item<I, O>[],
  culprit: Operation<I, O>,
  deadline: number,
) {
  const startStates = model.startStates;
  if (startStates === undefined) return undefined;
  const cuts = [...new Set(items.map(({ checked }) => checked.invoked))]
    .filter((t) => t <= culprit.invoked)
    .sort((a, b) => b - a);
  let previous: number | undefined;
  let tried = 0;
  for (const t of cuts) {
    const { start, inside, before } = windowAt(items, t);
    if (start === previous) continue;
    previous = start;
    if (++tried > MAX_CUTS) return undefined;
    const starts = startStates.call(model, before);
    const verdict = fails(
      model,
      inside.map((item) => item.checked),
      starts,
      deadline,
    );
    if (verdict === 'timeout') return undefined;
    if (verdict) return { inside, starts, fromInit: false };
  }
  return undefined;
}
