/**
 * The search for a linearization of one partition's operations: Wing & Gong's backtracking search over the
 * history's invocation and completion events, with Lowe's memoization (a configuration, the set of operations
 * linearized so far and the state they lead to, is explored at most once). The history is a doubly linked
 * list of events sorted by time; linearizing an operation lifts its two events out of the list, backtracking
 * puts them back (dancing links, so both are O(1)).
 *
 * The set of linearized operations is a bitset with a Zobrist hash kept up to date as bits flip, so looking a
 * configuration up costs O(1) plus one comparison of the bitset on a hash hit.
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
  const linearized = new Bitset(n);
  const cache = new ConfigurationCache(linearized.words);
  // The stack of linearized operations, and the state before each.
  const stackOperation = new Int32Array(n);
  const stackState = new Int32Array(n);
  let depth = 0;
  let state = 0;
  let knownLeft = operations.reduce(
    (count, operation) => count + (operation.completed === undefined ? 0 : 1),
    0,
  );
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
      const output = operation.completed === undefined ? undefined : operation.output;
      const next = model.step(states.get(state), operation.input, output);
      if (next !== undefined) {
        const nextState = states.intern(next);
        linearized.flip(index);
        if (!memo || cache.add(linearized, nextState)) {
          stackOperation[depth] = index;
          stackState[depth++] = state;
          state = nextState;
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
      events.unlift(index);
      if (operations[index]!.completed !== undefined) knownLeft++;
      event = events.next(2 * index);
    }
  }
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

/** A deterministic stream of 32-bit numbers (xorshift32) for the Zobrist keys: runs are reproducible. */
function zobristKeys(count: number, seed: number): Int32Array {
  const keys = new Int32Array(count);
  let x = seed | 0 || 1;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    keys[i] = x;
  }
  return keys;
}

class Bitset {
  readonly words: Uint32Array;
  /** Two independent 32-bit Zobrist hashes of the set bits: 53 bits of them make the cache key. */
  hashA = 0;
  hashB = 0;
  readonly #keysA: Int32Array;
  readonly #keysB: Int32Array;

  constructor(size: number) {
    this.words = new Uint32Array(Math.max(1, Math.ceil(size / 32)));
    this.#keysA = zobristKeys(size, 0x2545f491);
    this.#keysB = zobristKeys(size, 0x6c8e9cf5);
  }

  flip(bit: number): void {
    this.words[bit >>> 5]! ^= 1 << (bit & 31);
    this.hashA ^= this.#keysA[bit]!;
    this.hashB ^= this.#keysB[bit]!;
  }
}

/** The configurations seen: (bitset, state) pairs, hashed, with the bitsets copied into one growing pool. */
class ConfigurationCache {
  readonly #width: number;
  #pool: Uint32Array;
  #states: Int32Array;
  #size = 0;
  /** Hash to the first entry with it; further entries with the same hash chain through #chain. */
  readonly #buckets = new Map<number, number>();
  #chain: Int32Array;

  constructor(words: Uint32Array) {
    this.#width = words.length;
    this.#pool = new Uint32Array(1024 * this.#width);
    this.#states = new Int32Array(1024);
    this.#chain = new Int32Array(1024);
  }

  /** Adds the configuration; false if it was there already. */
  add(bits: Bitset, state: number): boolean {
    const a = (bits.hashA ^ Math.imul(state + 1, 0x9e3779b1)) >>> 0;
    const b = (bits.hashB ^ Math.imul(state + 1, 0x85ebca6b)) & 0x1fffff;
    const hash = a * 0x200000 + b;
    const first = this.#buckets.get(hash);
    for (let entry = first ?? -1; entry !== -1; entry = this.#chain[entry]!) {
      if (this.#states[entry] === state && this.#same(entry, bits.words)) return false;
    }
    const entry = this.#append(bits.words, state);
    this.#chain[entry] = first ?? -1;
    this.#buckets.set(hash, entry);
    return true;
  }

  #same(entry: number, words: Uint32Array): boolean {
    const offset = entry * this.#width;
    for (let i = 0; i < this.#width; i++) if (this.#pool[offset + i] !== words[i]) return false;
    return true;
  }

  #append(words: Uint32Array, state: number): number {
    if (this.#size === this.#states.length) {
      const capacity = 2 * this.#size;
      const pool = new Uint32Array(capacity * this.#width);
      pool.set(this.#pool);
      this.#pool = pool;
      const states = new Int32Array(capacity);
      states.set(this.#states);
      this.#states = states;
      const chain = new Int32Array(capacity);
      chain.set(this.#chain);
      this.#chain = chain;
    }
    const entry = this.#size++;
    this.#pool.set(words, entry * this.#width);
    this.#states[entry] = state;
    return entry;
  }
}
