/**
 * How far V8 lets a `pureraft node` process's heap grow past what its last full collection left live.
 *
 * V8 picks that factor itself, from how fast it collects: up to 4× for a small heap, about 1.5× for the few
 * hundred MiB of a store of a million keys. A node's live heap is mostly the store, so the slack would grow with
 * the data: measured with `npm run bench:growth`, the heap a leader held beyond its live heap went from 33 MiB
 * at 10k keys to 101 MiB at 1M. Capping the factor (V8's `--heap-growing-percent`) at 20% kept it at 56 MiB
 * (the memory beyond the store's: 1.52× → 1.25× from 10k to 1M keys), with no loss of write throughput at 1M.
 * On a small heap, though, the cap costs: a full collection every few MiB of growth took 5–9% of the writes/s
 * of `npm run bench:kv` at 16 and 64 clients (a store of ~40 MiB), where V8's own slack is a few tens of MiB at
 * most. So the cap holds only once the live heap is large: from `capFromBytes` on, and it is lifted again
 * below `liftBelowBytes` (apart, so that a heap near the line does not switch at every collection).
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { type Flag, UsageError } from './flags.js';

export interface HeapGrowthSettings {
  /** The cap, in percent of the live heap; 0 leaves V8's own factor at every size. */
  readonly percent: number;
  readonly capFromBytes: number;
  readonly liftBelowBytes: number;
}

export const DEFAULT_HEAP_GROWTH: HeapGrowthSettings = {
  percent: 20,
  capFromBytes: 128 * 2 ** 20,
  liftBelowBytes: 96 * 2 ** 20,
};

export const MAX_HEAP_GROWTH_PERCENT = 400;

/** `--heap-growth`, for `pureraft node` and, passed on to each node, `pureraft cluster`. */
export const heapGrowthFlag = {
  'heap-growth': {
    type: 'integer',
    placeholder: 'percent',
    description: `Once the live heap passes ${DEFAULT_HEAP_GROWTH.capFromBytes / 2 ** 20} MiB, how far V8 lets it grow past what a full collection left live before the next. Default ${DEFAULT_HEAP_GROWTH.percent}; 0 leaves it to V8.`,
  },
} as const satisfies Readonly<Record<string, Flag>>;

/** The flag's value, checked: the default when it is not given. */
export function heapGrowthPercent(given: number | undefined, usage: string): number {
  const percent = given ?? DEFAULT_HEAP_GROWTH.percent;
  if (percent < 0 || percent > MAX_HEAP_GROWTH_PERCENT)
    throw new UsageError(`--heap-growth must be from 0 to ${MAX_HEAP_GROWTH_PERCENT}, got ${percent}`, usage);
  return percent;
}

/**
 * Decides, after each full collection (when the heap in use is about the live heap; between them it also holds
 * garbage, which would switch the cap on and off with every collection of a heap near the line), whether the cap
 * holds; tells V8 (through `setGrowingPercent`) when that changes.
 */
export class HeapGrowthPolicy {
  #capped = false;

  constructor(
    private readonly settings: HeapGrowthSettings,
    private readonly setGrowingPercent: (percent: number) => void,
  ) {
    if (settings.liftBelowBytes > settings.capFromBytes)
      throw new RangeError('the cap must be lifted below the size it is set at');
  }

  get capped(): boolean {
    return this.#capped;
  }

  /** `liveBytes`: the heap in use just after a full collection. */
  afterFullCollection(liveBytes: number): void {
    if (this.settings.percent === 0) return;
    const { capFromBytes, liftBelowBytes } = this.settings;
    const capped = this.#capped ? liveBytes >= liftBelowBytes : liveBytes >= capFromBytes;
    if (capped === this.#capped) return;
    this.#capped = capped;
    // 0 is V8's own default: no fixed factor.
    this.setGrowingPercent(capped ? this.settings.percent : 0);
  }
}

/**
 * Runs the policy for `settings` in this process: V8's flag set through `v8.setFlagsFromString` (which Node documents as
 * possibly unstable after start; `--heap-growing-percent` is read afresh each time V8 sizes the heap after a
 * collection), and the live heap read after every full (mark-compact) collection. Returns how to stop.
 */
export function capHeapGrowth(settings: HeapGrowthSettings): { readonly stop: () => void } {
  if (settings.percent === 0) return { stop: () => {} };
  const policy = new HeapGrowthPolicy(settings, (percent) =>
    setFlagsFromString(`--heap-growing-percent=${percent}`),
  );
  return afterFullCollections((liveBytes) => policy.afterFullCollection(liveBytes));
}

/**
 * Calls `onCollected` with the heap in use soon after each full collection: about the live heap (the observer
 * runs a little after the collection, so what was allocated meanwhile counts too: small next to the thresholds).
 */
export function afterFullCollections(onCollected: (liveBytes: number) => void): {
  readonly stop: () => void;
} {
  const observer = new PerformanceObserver((list) => {
    // A 'gc' entry's detail says which kind of collection it was (Node's perf_hooks documentation).
    const full = list.getEntries().some((entry) => {
      const { detail } = entry as { readonly detail?: { readonly kind?: number } | null };
      return detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR;
    });
    if (full) onCollected(getHeapStatistics().used_heap_size);
  });
  observer.observe({ entryTypes: ['gc'] });
  return { stop: () => observer.disconnect() };
}
