/**
 * The replicated log, as a persistent (immutable to its readers) structure kept out of immer's copy-on-write.
 *
 * The log is the one structure that grows without bound, so it must not be copied on append. Every `RaftLog`
 * is an immutable view: a `length` over a shared, append-only chunked store. Appending to the newest view
 * pushes into the store (O(1) amortized) and returns a new view; older views keep reading only their own
 * prefix, which never changes. Appending to a view that is not the store's tip (an old state, or a log that
 * was truncated) forks the store: the full chunks are shared by reference (they are never written again) and
 * only the partial last chunk and the chunk directory are copied, O(length / CHUNK + CHUNK).
 *
 * Indices are Raft's: 1-based. `base` is the position before the first entry held (0 for a log that starts at
 * the beginning), left in place for snapshots, which will start a log after a compacted prefix.
 */
import { invariant } from './invariant.js';
import type { Entry } from './types.js';

const CHUNK = 4096;

/** Shared backing storage. Only ever grows; positions already written are never written again. */
class ChunkStore<C> {
  readonly chunks: Entry<C>[][] = [[]];
  size = 0;

  push(entry: Entry<C>): void {
    let last = this.chunks[this.chunks.length - 1]!;
    if (last.length === CHUNK) {
      last = [];
      this.chunks.push(last);
    }
    last.push(entry);
    this.size++;
  }

  at(position: number): Entry<C> {
    return this.chunks[Math.floor(position / CHUNK)]![position % CHUNK]!;
  }

  /** A new store holding positions [0, size) of this one: full chunks shared, the partial one copied. */
  fork(size: number): ChunkStore<C> {
    const forked = new ChunkStore<C>();
    const fullChunks = Math.floor(size / CHUNK);
    forked.chunks.length = 0;
    for (let i = 0; i < fullChunks; i++) forked.chunks.push(this.chunks[i]!);
    forked.chunks.push((this.chunks[fullChunks] ?? []).slice(0, size % CHUNK));
    forked.size = size;
    return forked;
  }
}

export interface LogPosition {
  readonly index: number;
  readonly term: number;
}

export class RaftLog<C> {
  // Private fields are invisible to deep-freeze and to immer: the store is shared, append-only, and no view
  // can observe a write to it.
  readonly #store: ChunkStore<C>;
  readonly #length: number;
  readonly #base: LogPosition;

  private constructor(store: ChunkStore<C>, length: number, base: LogPosition) {
    this.#store = store;
    this.#length = length;
    this.#base = base;
  }

  static empty<C>(base: LogPosition = { index: 0, term: 0 }): RaftLog<C> {
    return new RaftLog<C>(new ChunkStore<C>(), 0, base);
  }

  static from<C>(entries: readonly Entry<C>[], base: LogPosition = { index: 0, term: 0 }): RaftLog<C> {
    return RaftLog.empty<C>(base).append(entries);
  }

  /** Index of the first entry the log holds or would hold (1 for a log from the beginning). */
  get firstIndex(): number {
    return this.#base.index + 1;
  }

  get lastIndex(): number {
    return this.#base.index + this.#length;
  }

  get lastTerm(): number {
    return this.#length === 0 ? this.#base.term : this.#store.at(this.#length - 1).term;
  }

  /** The entry at `index`, or undefined when the log does not hold it. */
  entry(index: number): Entry<C> | undefined {
    const position = index - this.#base.index - 1;
    if (position < 0 || position >= this.#length) return undefined;
    return this.#store.at(position);
  }

  /** Term of the entry at `index`; the base's term at the base; undefined when not held. O(1). */
  term(index: number): number | undefined {
    if (index === this.#base.index) return this.#base.term;
    return this.entry(index)?.term;
  }

  /** Entries [from, to] (inclusive, clamped to what is held), as a new array. */
  slice(from: number, to: number = this.lastIndex): Entry<C>[] {
    const result: Entry<C>[] = [];
    const first = Math.max(from, this.firstIndex);
    const last = Math.min(to, this.lastIndex);
    for (let index = first; index <= last; index++) result.push(this.entry(index)!);
    return result;
  }

  /** Appends entries that continue the log without a gap. O(1) amortized per entry on the newest view. */
  append(entries: readonly Entry<C>[]): RaftLog<C> {
    if (entries.length === 0) return this;
    let store = this.#store;
    if (store.size !== this.#length) store = store.fork(this.#length);
    let expected = this.lastIndex + 1;
    for (const entry of entries) {
      invariant(entry.index === expected, () => `append at ${entry.index}, expected ${expected}`);
      store.push(entry);
      expected++;
    }
    return new RaftLog<C>(store, this.#length + entries.length, this.#base);
  }

  /** Drops every entry at `index` and after. Cheap: the new view shares the store until it appends. */
  truncateFrom(index: number): RaftLog<C> {
    invariant(
      index > this.#base.index,
      () => `truncate at ${index} would cut into the base ${this.#base.index}`,
    );
    if (index > this.lastIndex) return this;
    return new RaftLog<C>(this.#store, index - this.#base.index - 1, this.#base);
  }

  /**
   * The first index holding `term`, or undefined. Terms never decrease along a log, so binary search:
   * O(log n) even when one term spans a million entries.
   */
  firstIndexOfTerm(term: number): number | undefined {
    const found = this.#lowerBound(term);
    return this.term(found) === term && found >= this.firstIndex ? found : undefined;
  }

  /** The last index holding `term`, or undefined. O(log n). */
  lastIndexOfTerm(term: number): number | undefined {
    const found = this.#lowerBound(term + 1) - 1;
    return found >= this.firstIndex && this.term(found) === term ? found : undefined;
  }

  /** The smallest held index whose term is >= `term` (lastIndex + 1 when none). */
  #lowerBound(term: number): number {
    let low = this.firstIndex;
    let high = this.lastIndex + 1;
    while (low < high) {
      const middle = low + Math.floor((high - low) / 2);
      if (this.entry(middle)!.term < term) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** §5.4.1: is a log ending at (lastIndex, lastTerm) at least as up-to-date as this one? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    return lastTerm > this.lastTerm || (lastTerm === this.lastTerm && lastIndex >= this.lastIndex);
  }

  /** Plain data, for tests, traces and debugging. */
  toJSON(): { base: LogPosition; entries: Entry<C>[] } {
    return { base: this.#base, entries: this.slice(this.firstIndex) };
  }
}
