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
 * below `liftBelowBytes` (apart, so that a heap near the line does not switch at every look).
 */
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

/** How often the live heap is looked at. */
export const HEAP_CHECK_INTERVAL_MS = 2_000;

/** What the policy needs of the process: the heap in use, and V8's flag. */
export interface HeapGrowthHost {
  heapUsedBytes(): number;
  setGrowingPercent(percent: number): void;
}

/** Decides, at each look at the heap, whether the cap holds; tells the host when that changes. */
export class HeapGrowthPolicy {
  #capped = false;

  constructor(
    private readonly settings: HeapGrowthSettings,
    private readonly host: HeapGrowthHost,
  ) {
    if (settings.liftBelowBytes > settings.capFromBytes)
      throw new RangeError('the cap must be lifted below the size it is set at');
  }

  get capped(): boolean {
    return this.#capped;
  }

  check(): void {
    if (this.settings.percent === 0) return;
    const used = this.host.heapUsedBytes();
    const capped = this.#capped ? used >= this.settings.liftBelowBytes : used >= this.settings.capFromBytes;
    if (capped === this.#capped) return;
    this.#capped = capped;
    // 0 is V8's own default: no fixed factor.
    this.host.setGrowingPercent(capped ? this.settings.percent : 0);
  }
}
