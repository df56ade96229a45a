/**
 * Where timers get their time from: the real event loop, or a manual clock that tests move by hand. A timer
 * table (timers.ts) needs nothing but "run this after that long, unless cancelled".
 */

export interface Clock {
  /** Runs `callback` once after `delay` milliseconds; the returned function cancels it if it has not run. */
  schedule(delay: number, callback: () => void): () => void;
  /** Milliseconds on a monotonic clock, to tell which timers are due (timers.ts, `takeOverdue`). */
  readonly now: number;
}

export const realClock: Clock = {
  schedule(delay, callback) {
    const handle = setTimeout(callback, delay);
    return () => clearTimeout(handle);
  },
  get now() {
    return performance.now();
  },
};

interface Scheduled {
  readonly at: number;
  /** Breaks ties between equal deadlines: first scheduled, first run, like the event loop. */
  readonly order: number;
  readonly callback: () => void;
}

/** A clock that stands still until `advance` is called: timers fire in deadline order, synchronously. */
export class ManualClock implements Clock {
  #now = 0;
  #order = 0;
  readonly #scheduled = new Set<Scheduled>();

  get now(): number {
    return this.#now;
  }

  /** How many callbacks are waiting. */
  get pending(): number {
    return this.#scheduled.size;
  }

  schedule(delay: number, callback: () => void): () => void {
    const entry: Scheduled = { at: this.#now + Math.max(0, delay), order: this.#order++, callback };
    this.#scheduled.add(entry);
    return () => this.#scheduled.delete(entry);
  }

  /** Moves time forward by `ms`, running every callback that falls due, including ones scheduled meanwhile. */
  advance(ms: number): void {
    if (!(Number.isFinite(ms) && ms >= 0)) throw new RangeError(`cannot advance by ${ms}`);
    const target = this.#now + ms;
    for (let next = this.#earliest(target); next !== undefined; next = this.#earliest(target)) {
      this.#scheduled.delete(next);
      this.#now = next.at;
      next.callback();
    }
    this.#now = target;
  }

  #earliest(until: number): Scheduled | undefined {
    let earliest: Scheduled | undefined;
    for (const entry of this.#scheduled) {
      if (entry.at > until) continue;
      if (
        earliest === undefined ||
        entry.at < earliest.at ||
        (entry.at === earliest.at && entry.order < earliest.order)
      )
        earliest = entry;
    }
    return earliest;
  }
}
