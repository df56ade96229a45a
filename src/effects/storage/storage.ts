/**
 * The storage effect interpreter's interface, and the meaning of a `persist` effect (CONTRACT.md, Semantics 3)
 * as one piece of code that every interpreter shares: the memory store, the disk log's recovery, a simulator.
 */
import type { Durable, Effect, Entry, HardState } from '../../core/index.js';
import { invariant } from '../../core/invariant.js';

export type PersistEffect<C> = Extract<Effect<C>, { type: 'persist' }>;

export interface Storage<C> {
  /** What is durable now (hard state + contiguous entries); call once, before the first persist. */
  load(): Promise<Durable<C>>;
  /** Resolves only once the effect is durable (fsync'd). Calls resolve in call order. */
  persist(effect: PersistEffect<C>): Promise<void>;
  close(): Promise<void>;
}

/** What a node that never persisted anything holds. */
export const initialHardState: HardState = { term: 0, votedFor: null };

/**
 * The last index after applying `effect` to a log whose last index is `lastIndex`, or an Error if the effect
 * is malformed (a gap, a bad `truncateFrom`): that is a bug in the caller, and no storage may write it.
 * Entries are 1-based and contiguous, so a log's entries are exactly the indices 1..lastIndex.
 */
export function lastIndexAfter(lastIndex: number, effect: PersistEffect<unknown>): number {
  let last = lastIndex;
  if (effect.truncateFrom !== undefined) {
    if (!Number.isSafeInteger(effect.truncateFrom) || effect.truncateFrom < 1) {
      throw new Error(`persist: truncateFrom must be a positive integer, got ${effect.truncateFrom}`);
    }
    last = Math.min(last, effect.truncateFrom - 1);
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
  return last;
}

/**
 * A mutable durable state that `persist` effects are applied to in place: O(1) amortized per appended entry
 * and per truncation, so a long append-only run never copies the log. `snapshot()` is the one copy, on demand.
 */
export class DurableLog<C> {
  #hardState: HardState;
  readonly #entries: Entry<C>[];

  constructor(initial?: Durable<C>) {
    this.#hardState = initial?.hardState ?? initialHardState;
    this.#entries = [...(initial?.entries ?? [])];
    this.#entries.forEach((entry, position) => {
      if (entry.index !== position + 1) {
        throw new Error(
          `durable state: entry at position ${position} has index ${entry.index}, not ${position + 1}`,
        );
      }
    });
  }

  get hardState(): HardState {
    return this.#hardState;
  }

  get lastIndex(): number {
    return this.#entries.length;
  }

  /** A live read-only view: it changes with every later `apply`. Take a `snapshot()` to keep one. */
  get entries(): readonly Entry<C>[] {
    return this.#entries;
  }

  /** Applies the effect, or throws (changing nothing) if it is malformed. */
  apply(effect: PersistEffect<C>): void {
    const last = lastIndexAfter(this.lastIndex, effect);
    if (effect.hardState !== undefined) this.#hardState = effect.hardState;
    // Entry i sits at position i - 1, so cutting at truncateFrom - 1 deletes every index >= truncateFrom.
    if (effect.truncateFrom !== undefined && effect.truncateFrom <= this.#entries.length) {
      this.#entries.length = effect.truncateFrom - 1;
    }
    for (const entry of effect.entries ?? []) this.#entries.push(entry);
    invariant(this.#entries.length === last, 'apply and lastIndexAfter disagree on the last index');
  }

  snapshot(): Durable<C> {
    return { hardState: this.#hardState, entries: this.#entries.slice() };
  }
}

/** The pure form: `durable` after `effect`. Copies the entries, so a store should keep a `DurableLog` instead. */
export function applyPersist<C>(durable: Durable<C>, effect: PersistEffect<C>): Durable<C> {
  const log = new DurableLog(durable);
  log.apply(effect);
  return log.snapshot();
}
