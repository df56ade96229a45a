/**
 * The storage effect interpreter's interface, and the meaning of a `persist` effect (CONTRACT.md, Semantics 3
 * and Widening 1, rule 11) as one piece of code that every interpreter shares: the memory store, the disk
 * log's recovery, a simulator.
 */
import type { Durable, Effect, Entry, HardState, Snapshot } from '../../core/index.js';
import { invariant } from '../../core/invariant.js';
import type { SnapshotStore } from '../snapshot-data.js';

export type PersistEffect<C> = Extract<Effect<C>, { type: 'persist' }>;

export interface Storage<C> {
  /** What is durable now (hard state, snapshot, the entries after it); call once, before the first persist. */
  load(): Promise<Durable<C>>;
  /** Resolves only once the effect is durable (fsync'd). Calls resolve in call order. */
  persist(effect: PersistEffect<C>): Promise<void>;
  /** Where snapshot data is written and read; a persisted snapshot's data is a ref from here. */
  readonly snapshots: SnapshotStore;
  /**
   * After a persist failed (a full disk, an I/O error): tries to make the storage writable again, and resolves
   * with what is durable (what every persist that resolved made, and nothing of one that failed, unless it
   * failed past its commit point: a persist with a snapshot whose file was already made current); rejects while
   * it cannot. Snapshot data written before is gone. Optional: without it, a failed persist is final.
   */
  reopen?(): Promise<Durable<C>>;
  close(): Promise<void>;
}

/** What a node that never persisted anything holds. */
export const initialHardState: HardState = { term: 0, votedFor: null };

/**
 * Where a log stands: its entries are exactly `snapshotIndex + 1 .. lastIndex` (the ones at or below the
 * snapshot's index were compacted away), and `snapshotIndex` is 0 when there is no snapshot.
 */
export interface LogBounds {
  readonly snapshotIndex: number;
  readonly lastIndex: number;
}

const isPositiveInteger = (value: number) => Number.isSafeInteger(value) && value >= 1;

/**
 * The bounds after applying `effect` to a log with `bounds`, or an Error if the effect is malformed (a gap, a
 * bad `truncateFrom`, a snapshot that is not newer than the stored one): that is a bug in the caller, and no
 * storage may write it.
 */
export function boundsAfter(bounds: LogBounds, effect: PersistEffect<unknown>): LogBounds {
  let { snapshotIndex, lastIndex: last } = bounds;
  if (effect.snapshot !== undefined) {
    const { index, term } = effect.snapshot.meta;
    if (!isPositiveInteger(index) || !isPositiveInteger(term)) {
      throw new Error(
        `persist: a snapshot's index and term must be positive integers, got ${index} and ${term}`,
      );
    }
    if (index <= snapshotIndex) {
      throw new Error(
        `persist: snapshot at index ${index} is not newer than the stored one at index ${snapshotIndex}`,
      );
    }
    // Entries past the snapshot stay; with none left, the log continues right after it.
    snapshotIndex = index;
    last = Math.max(last, index);
  }
  if (effect.truncateFrom !== undefined) {
    if (!isPositiveInteger(effect.truncateFrom)) {
      throw new Error(`persist: truncateFrom must be a positive integer, got ${effect.truncateFrom}`);
    }
    // Truncating at or below the snapshot deletes every entry left, and the snapshot stays.
    last = Math.max(snapshotIndex, Math.min(last, effect.truncateFrom - 1));
  }
  for (const entry of effect.entries ?? []) {
    if (entry.index !== last + 1) {
      throw new Error(
        `persist: entry index ${entry.index} does not continue the log, whose last index is ${last}` +
          ' (entries must be appended without a gap)',
      );
    }
    last = entry.index;
  }
  return { snapshotIndex, lastIndex: last };
}

/**
 * A mutable durable state that `persist` effects are applied to in place: O(1) amortized per appended entry
 * and per truncation, so a long append-only run never copies the log. Compaction (a snapshot) drops the
 * compacted entries from the front of the array, which is rare and frees them. `snapshot()` is the one copy,
 * on demand.
 */
export class DurableLog<C> implements LogBounds {
  #hardState: HardState;
  #latestSnapshot: Snapshot | undefined;
  /** Entry `snapshotIndex + 1 + i` sits at position i. */
  readonly #entries: Entry<C>[];

  constructor(initial?: Durable<C>) {
    this.#hardState = initial?.hardState ?? initialHardState;
    this.#latestSnapshot = initial?.snapshot;
    this.#entries = [...(initial?.entries ?? [])];
    this.#entries.forEach((entry, position) => {
      const expected = this.snapshotIndex + 1 + position;
      if (entry.index !== expected) {
        throw new Error(
          `durable state: entry at position ${position} has index ${entry.index}, not ${expected}`,
        );
      }
    });
  }

  get hardState(): HardState {
    return this.#hardState;
  }

  /** The snapshot stored in place of the entries through its index, if any. */
  get latestSnapshot(): Snapshot | undefined {
    return this.#latestSnapshot;
  }

  get snapshotIndex(): number {
    return this.#latestSnapshot?.meta.index ?? 0;
  }

  get lastIndex(): number {
    return this.snapshotIndex + this.#entries.length;
  }

  /** A live read-only view of the entries after the snapshot: it changes with every later `apply`. */
  get entries(): readonly Entry<C>[] {
    return this.#entries;
  }

  /** Applies the effect, or throws (changing nothing) if it is malformed. */
  apply(effect: PersistEffect<C>): void {
    const after = boundsAfter(this, effect);
    if (effect.hardState !== undefined) this.#hardState = effect.hardState;
    if (effect.snapshot !== undefined) {
      const compacted = Math.min(this.#entries.length, effect.snapshot.meta.index - this.snapshotIndex);
      this.#entries.splice(0, compacted);
      this.#latestSnapshot = effect.snapshot;
    }
    // Entry i sits at position i - snapshotIndex - 1, so cutting there deletes every index >= truncateFrom.
    if (effect.truncateFrom !== undefined) {
      const kept = Math.max(0, effect.truncateFrom - 1 - this.snapshotIndex);
      if (kept < this.#entries.length) this.#entries.length = kept;
    }
    for (const entry of effect.entries ?? []) this.#entries.push(entry);
    invariant(
      this.lastIndex === after.lastIndex && this.snapshotIndex === after.snapshotIndex,
      'apply and boundsAfter disagree on the bounds',
    );
  }

  /** A copy of the durable state, independent of later `apply`s. */
  snapshot(): Durable<C> {
    const { hardState } = this;
    const entries = this.#entries.slice();
    return this.#latestSnapshot === undefined
      ? { hardState, entries }
      : { hardState, entries, snapshot: this.#latestSnapshot };
  }
}

/** The pure form: `durable` after `effect`. Copies the entries, so a store should keep a `DurableLog` instead. */
export function applyPersist<C>(durable: Durable<C>, effect: PersistEffect<C>): Durable<C> {
  const log = new DurableLog(durable);
  log.apply(effect);
  return log.snapshot();
}
