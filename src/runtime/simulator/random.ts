/**
 * The simulator's one seeded generator: everything random in a run (faults, delays, which node, which
 * command) comes from here, so a seed reproduces the run exactly. Same algorithm as the core's own.
 */
import { nextRandom } from '../../core/rng.js';

export class Random {
  #state: number;

  constructor(readonly seed: number) {
    this.#state = Math.floor(seed) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    const [value, state] = nextRandom(this.#state);
    this.#state = state;
    return value;
  }

  /** Uniform integer in [min, max). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min));
  }

  chance(probability: number): boolean {
    return probability > 0 && this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(0, items.length)]!;
  }

  /** A new generator whose stream is independent of this one's later draws. */
  fork(): Random {
    return new Random(this.int(0, 2 ** 32));
  }
}
