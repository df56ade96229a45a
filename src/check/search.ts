/**
 * The search for a linearization of one partition's operations: Wing & Gong's backtracking search over the
 * history's invocation and completion events, with Lowe's memoization (a configuration, the set of operations
 * linearized so far and the state they lead to, is explored at most once). The history is a doubly linked
 * list of events sorted by time; linearizing an operation lifts its two events out of the list, backtracking
 * puts them back (dancing links, so both are O(1)).
 *
 * The set of linearized operations is a bitset with Zobrist hashes kept up to date as bits flip, so looking a
 * configuration up costs O(1) (see ConfigurationCache).
 */
import type { Operation } from './history.js';
import { type Model, stateKeyOf } from './model.js';

export type SearchOutcome = 'linearizable' | 'not-linearizable' | 'timeout';

export interface SearchOptions {
  /** Lowe's memoization; off only for the baseline it is measured against. Default true. */
  readonly memo?: boolean;
  /** A `performance.now()` time after which the search gives up with 'timeout'. */
  readonly deadline?: number;
  /** Steps (attempts to linearize an operation) after which the search gives up with 'timeout'. */
  readonly maxSteps?: number;
  /**
   * For testing the checker: cut the configurations' fingerprints to this many bits (1 to 32), so that
   * configurations share them often, as they almost never do at the full 85 (see ConfigurationCache).
   */
  readonly fingerprintBits?: number;
}

export interface SearchResult {
  readonly outcome: SearchOutcome;
  /** Attempts to linearize an operation: the search's unit of work. */
  readonly steps: number;
}

/** How often (in steps) the clock is read. */
const CLOCK_EVERY = 4_096;

/**
 * Whether `operations` (one partition, unknown read-only operations already left out) have a linearization
 * that starts from `start`.
 */
export function searchLinearization<S, I, O>(
  model: Model<S, I, O>,
  operations: readonly Operation<I, O>[],
  start: S,
  options: SearchOptions = {},
): SearchResult {
  const n = operations.length;
  const memo = options.memo ?? true;
  const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
  const maxSteps = options.maxSteps ?? Number.POSITIVE_INFINITY;
  const events = new EventList(operations);
  const states = new StateTable(model, start);
  const linearized = new LinearizedSet(n);
  const cache = new ConfigurationCache(options.fingerprintBits);
  // The stack of linearized operations, and the state before each.
  const stackOperation = new Int32Array(n);
  const stackState = new Int32Array(n);
  let depth = 0;
  let state = 0;
  let knownLeft = operations.reduce(
    (count, operation) => count + (operation.completed === undefined ? 0 : 1),
    0,
  );
  const after = interchangeableOrder(model, operations);
  const done = new Uint8Array(n);
  let steps = 0;
  let event = events.first();
  for (;;) {
    // Operations of unknown outcome that are left can all take effect after everything else, or never.
    if (knownLeft === 0) return { outcome: 'linearizable', steps };
    if (events.isCall(event)) {
      const index = event >> 1;
      const operation = operations[index]!;
      if (++steps % CLOCK_EVERY === 0 && (performance.now() > deadline || steps > maxSteps))
        return { outcome: 'timeout', steps };
      const before = after[index]!;
      const output = operation.completed === undefined ? undefined : operation.output;
      const next =
        before !== -1 && done[before] === 0
          ? undefined
          : model.step(states.get(state), operation.input, output);
      if (next !== undefined) {
        const nextState = states.intern(next);
        linearized.flip(index);
        if (!memo || cache.add(linearized, nextState)) {
          stackOperation[depth] = index;
          stackState[depth++] = state;
          state = nextState;
          done[index] = 1;
          events.lift(index);
          if (operation.completed !== undefined) knownLeft--;
          event = events.first();
          continue;
        }
        linearized.flip(index);
      }
      event = events.next(event);
    } else {
      // An operation completes here that nothing linearized: undo the last choice and try the next one.
      if (depth === 0) return { outcome: 'not-linearizable', steps };
      const index = stackOperation[--depth]!;
      state = stackState[depth]!;
      linearized.flip(index);
      done[index] = 0;
      events.unlift(index);
      if (operations[index]!.completed !== undefined) knownLeft++;
      event = events.next(2 * index);
    }
  }
}

/**
 * Operations of unknown outcome with the same input are interchangeable (swapping two in a linearization gives
 * another, the earlier-invoked one taking the earlier place), so they are linearized in invocation order only:
 * m of them make m + 1 configurations instead of 2^m. For each operation, the one it must follow, or -1.
 */
function interchangeableOrder<I, O>(
  model: Model<unknown, I, O>,
  operations: readonly Operation<I, O>[],
): Int32Array {
  const after = new Int32Array(operations.length).fill(-1);
  const last = new Map<unknown, number>();
  const order = operations.map((_, i) => i).sort((a, b) => operations[a]!.invoked - operations[b]!.invoked);
  for (const i of order) {
    const operation = operations[i]!;
    if (operation.completed !== undefined) continue;
    const key = model.inputKey?.(operation.input) ?? JSON.stringify(operation.input);
    after[i] = last.get(key) ?? -1;
    last.set(key, i);
  }
  return after;
}

/** Every operation's two events (2i: invocation, 2i + 1: completion) in a doubly linked list, in time order. */
class EventList {
  readonly #next: Int32Array;
  readonly #prev: Int32Array;
  readonly #head: number;
  readonly #tail: number;

  constructor(operations: readonly Operation<unknown, unknown>[]) {
    const count = 2 * operations.length;
    const time = (event: number) => {
      const operation = operations[event >> 1]!;
      return (event & 1) === 0 ? operation.invoked : (operation.completed ?? Number.POSITIVE_INFINITY);
    };
    // At equal times invocations go first: operations that touch are taken as concurrent, the lenient reading.
    const order = Array.from({ length: count }, (_, event) => event).sort(
      (a, b) => time(a) - time(b) || (a & 1) - (b & 1) || a - b,
    );
    this.#head = count;
    this.#tail = count + 1;
    this.#next = new Int32Array(count + 2);
    this.#prev = new Int32Array(count + 2);
    let previous = this.#head;
    for (const event of order) {
      this.#next[previous] = event;
      this.#prev[event] = previous;
      previous = event;
    }
    this.#next[previous] = this.#tail;
    this.#prev[this.#tail] = previous;
  }

  first(): number {
    return this.#next[this.#head]!;
  }

  next(event: number): number {
    return this.#next[event]!;
  }

  /** The tail counts as a completion: reaching it means nothing more can be linearized here. */
  isCall(event: number): boolean {
    return event !== this.#tail && (event & 1) === 0;
  }

  lift(operation: number): void {
    this.#remove(2 * operation);
    this.#remove(2 * operation + 1);
  }

  /** Undoes the last `lift` not undone yet. */
  unlift(operation: number): void {
    this.#restore(2 * operation + 1);
    this.#restore(2 * operation);
  }

  #remove(event: number): void {
    const before = this.#prev[event]!;
    const after = this.#next[event]!;
    this.#next[before] = after;
    this.#prev[after] = before;
  }

  #restore(event: number): void {
    this.#next[this.#prev[event]!] = event;
    this.#prev[this.#next[event]!] = event;
  }
}

/** States interned as small integers, so configurations compare and hash cheaply. */
class StateTable<S> {
  readonly #ids = new Map<unknown, number>();
  readonly #states: S[] = [];
  readonly #key: (state: S) => unknown;

  constructor(model: Model<S, unknown, unknown>, start: S) {
    this.#key = stateKeyOf(model);
    this.intern(start);
  }

  intern(state: S): number {
    const key = this.#key(state);
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.#states.length;
      this.#ids.set(key, id);
      this.#states.push(state);
    }
    return id;
  }

  get(id: number): S {
    return this.#states[id]!;
  }
}

/** The seeds of the three hashes' keys. */
export const ZOBRIST_SEEDS = [0x2545f491, 0x6c8e9cf5, 0x1b873593] as const;

/**
 * The Zobrist keys of one hash: murmur3's finalizer of the index and the hash's seed, deterministic so that
 * runs are reproducible. Not a linear generator: with xorshift (linear over GF(2)), a set of keys that XORs to
 * zero under one seed does under every seed, and the three hashes were one 32-bit fingerprint in effect.
 */
export function zobristKeys(count: number, seed: number): Int32Array {
  const keys = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let x = (Math.imul(i + 1, 0x9e3779b9) ^ seed) | 0;
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
    x = Math.imul(x ^ (x >>> 16), seed | 1);
    keys[i] = x ^ (x >>> 15);
  }
  return keys;
}

/**
 * The set of linearized operations, kept only as three independent 32-bit Zobrist hashes (each operation has a
 * random key per hash, and a set hashes to the XOR of its members' keys): flipping a member is O(1).
 */
class LinearizedSet {
  hashA = 0;
  hashB = 0;
  hashC = 0;
  readonly #keysA: Int32Array;
  readonly #keysB: Int32Array;
  readonly #keysC: Int32Array;

  constructor(size: number) {
    const [a, b, c] = ZOBRIST_SEEDS;
    this.#keysA = zobristKeys(size, a);
    this.#keysB = zobristKeys(size, b);
    this.#keysC = zobristKeys(size, c);
  }

  flip(bit: number): void {
    this.hashA ^= this.#keysA[bit]!;
    this.hashB ^= this.#keysB[bit]!;
    this.hashC ^= this.#keysC[bit]!;
  }
}

/**
 * The configurations seen, by fingerprint: three independent 32-bit Zobrist hashes of the bitset, mixed with
 * the state, 85 bits in all (53 as the map key, 32 more as the value). Two configurations share one with
 * probability about n² / 2⁸⁶ for n configurations (below 10⁻¹¹ for ten million), and storing no bitset makes
 * a configuration cost O(1) whatever the history's length. A sharing could only hide a linearization, never
 * invent one, and every failure is checked again by the plain search (window.ts): if that finds a
 * linearization, the partition is searched again without memos (check.ts). That takes keys that are not
 * linear in one another: see zobristKeys.
 */
class ConfigurationCache {
  /** The 53-bit key to the remaining 32 bits. */
  readonly #seen = new Map<number, number>();
  /** The rare configurations whose 53-bit key is taken by another. */
  readonly #overflow = new Set<string>();
  /** The fingerprint's bits, when a test narrows it to the first hash's low bits. */
  readonly #narrowed: number | undefined;

  constructor(fingerprintBits?: number) {
    if (
      fingerprintBits !== undefined &&
      !(Number.isInteger(fingerprintBits) && fingerprintBits >= 1 && fingerprintBits <= 32)
    )
      throw new RangeError(`fingerprintBits must be an integer from 1 to 32, got ${fingerprintBits}`);
    this.#narrowed = fingerprintBits === undefined ? undefined : 2 ** fingerprintBits - 1;
  }

  /** Adds the configuration; false if it was there already. */
  add(bits: LinearizedSet, state: number): boolean {
    const a = (bits.hashA ^ Math.imul(state + 1, 0x9e3779b1)) >>> 0;
    const b = (bits.hashB ^ Math.imul(state + 1, 0x85ebca6b)) & 0x1fffff;
    const c = (bits.hashC ^ Math.imul(state + 1, 0xc2b2ae35)) | 0;
    const key = this.#narrowed === undefined ? a * 0x200000 + b : a % (this.#narrowed + 1);
    const seen = this.#seen.get(key);
    if (seen === undefined) {
      this.#seen.set(key, c);
      return true;
    }
    if (seen === c || this.#narrowed !== undefined) return false;
    const long = `${key}:${c}`;
    if (this.#overflow.has(long)) return false;
    this.#overflow.add(long);
    return true;
  }
}
