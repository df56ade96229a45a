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
 * Indices are Raft's: 1-based. `base` is the position before the first entry held: (0, 0) for a log from the
 * beginning, the latest snapshot's last index and term once a prefix was compacted (§7). Compaction starts a new
 * store that shares the chunks it keeps, so the compacted prefix's memory is freed once no state holds it.
 */
import { invariant } from './invariant.js';
import type { Entry, Snapshot } from './types.js';

const CHUNK = 4096;

/**
 * Shared backing storage. Only ever grows; positions already written are never written again. Position 0 sits
 * at `offset` in the first chunk, so a compacted store shares the chunks it keeps with the store it came from.
 * Exported for the tests that count the work a transition does (work.test.ts), not from the package.
 */
export class ChunkStore<C> {
  readonly chunks: Entry<C>[][];
  readonly offset: number;
  size = 0;

  constructor(chunks: Entry<C>[][] = [[]], offset = 0, size = 0) {
    this.chunks = chunks;
    this.offset = offset;
    this.size = size;
  }

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
    const slot = position + this.offset;
    return this.chunks[Math.floor(slot / CHUNK)]![slot % CHUNK]!;
  }

  /**
   * A new store holding positions [from, to) of this one, renumbered from 0: the full chunks are shared (never
   * written again), the partial last one is copied so that the two stores never push into the same array.
   * O((to - from) / CHUNK + CHUNK).
   */
  range(from: number, to: number): ChunkStore<C> {
    const firstSlot = from + this.offset;
    const endSlot = to + this.offset;
    const firstChunk = Math.floor(firstSlot / CHUNK);
    const lastChunk = Math.floor(endSlot / CHUNK); // the chunk that slot `endSlot` would go in
    const chunks: Entry<C>[][] = [];
    for (let i = firstChunk; i < lastChunk; i++) chunks.push(this.chunks[i]!);
    chunks.push((this.chunks[lastChunk] ?? []).slice(0, endSlot % CHUNK));
    return new ChunkStore<C>(chunks, firstSlot % CHUNK, to - from);
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
  /** The snapshot the base stands for; its `data` is the service's and is never read (nor frozen) here. */
  readonly #snapshot: Snapshot | null;

  private constructor(store: ChunkStore<C>, length: number, snapshot: Snapshot | null) {
    this.#store = store;
    this.#length = length;
    this.#snapshot = snapshot;
    this.#base =
      snapshot === null ? { index: 0, term: 0 } : { index: snapshot.meta.index, term: snapshot.meta.term };
  }

  /** An empty log, from the beginning or right after `snapshot`. */
  static empty<C>(snapshot: Snapshot | null = null): RaftLog<C> {
    return new RaftLog<C>(new ChunkStore<C>(), 0, snapshot);
  }

  static from<C>(entries: readonly Entry<C>[], snapshot: Snapshot | null = null): RaftLog<C> {
    return RaftLog.empty<C>(snapshot).append(entries);
  }

  /** The latest snapshot: what the compacted prefix stands for. */
  get snapshot(): Snapshot | null {
    return this.#snapshot;
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
    if (store.size !== this.#length) store = store.range(0, this.#length);
    let expected = this.lastIndex + 1;
    for (const entry of entries) {
      invariant(entry.index === expected, () => `append at ${entry.index}, expected ${expected}`);
      store.push(entry);
      expected++;
    }
    return new RaftLog<C>(store, this.#length + entries.length, this.#snapshot);
  }

  /** Drops every entry at `index` and after. Cheap: the new view shares the store until it appends. */
  truncateFrom(index: number): RaftLog<C> {
    invariant(
      index > this.#base.index,
      () => `truncate at ${index} would cut into the base ${this.#base.index}`,
    );
    if (index > this.lastIndex) return this;
    return new RaftLog<C>(this.#store, index - this.#base.index - 1, this.#snapshot);
  }

  /**
   * §7: the log with every entry through the snapshot's index dropped, the snapshot becoming its base. The
   * snapshot must stand for an entry this log holds, with its term, past the current base. The dropped
   * prefix's memory goes when no older state holds this log.
   */
  compactTo(snapshot: Snapshot): RaftLog<C> {
    const { index, term } = snapshot.meta;
    invariant(
      index > this.#base.index && this.term(index) === term,
      () =>
        `compact to ${index} (term ${term}), which the log does not hold past its base ${this.#base.index}`,
    );
    const position = index - this.#base.index;
    return new RaftLog<C>(this.#store.range(position, this.#length), this.#length - position, snapshot);
  }

  /** The base: the position just before the first entry held. */
  get base(): LogPosition {
    return this.#base;
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
