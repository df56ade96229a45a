/**
 * The timer effect interpreter (CONTRACT.md, Semantics 5): at most one pending timer per name, `set` replaces,
 * `cancel` disarms, and a timer that fires becomes exactly one `timeout` event.
 *
 * A runtime queues events, so a timer can fire while its `timeout` waits in the queue behind an event whose
 * transition re-arms or cancels it. Stepping that stale timeout would undo the reset (a follower that just
 * heard from its leader would start an election). So firing only reports the name, and the runtime `claim`s
 * the timeout when it is about to step it: the claim succeeds once per firing, and only if no `set` or
 * `cancel` of that name came after the firing.
 */
import type { Clock } from './clock.js';

interface Armed {
  readonly cancel: () => void;
  /** When it is due, on the clock's `now`. */
  readonly at: number;
  fired: boolean;
}

export class Timers {
  readonly #timers = new Map<string, Armed>();

  constructor(
    private readonly clock: Clock,
    /** Called when a timer fires; the runtime queues a `timeout` event and claims it before stepping it. */
    private readonly onFire: (timer: string) => void,
  ) {}

  set(timer: string, delay: number): void {
    this.cancel(timer);
    const armed: Armed = {
      fired: false,
      at: this.clock.now + delay,
      cancel: this.clock.schedule(delay, () => {
        armed.fired = true;
        this.onFire(timer);
      }),
    };
    this.#timers.set(timer, armed);
  }

  cancel(timer: string): void {
    this.#timers.get(timer)?.cancel();
    this.#timers.delete(timer);
  }

  /** True exactly once for a firing of `timer` that no later `set` or `cancel` superseded. */
  claim(timer: string): boolean {
    const armed = this.#timers.get(timer);
    if (armed === undefined || !armed.fired) return false;
    this.#timers.delete(timer);
    return true;
  }

  /**
   * Disarms and returns, in deadline order, every timer that is due by the clock and not yet claimed, whether
   * its callback ran or not (the event loop may be behind): a runtime that steps them at once keeps a due timer
   * from being stepped after an event that came later (lease reads rest on it, core/reads.ts). A queued
   * timeout of one of them is stale from now on: its claim fails.
   */
  takeOverdue(): string[] {
    const now = this.clock.now;
    const due = [...this.#timers].filter(([, armed]) => armed.at <= now).sort(([, a], [, b]) => a.at - b.at);
    for (const [timer, armed] of due) {
      armed.cancel();
      this.#timers.delete(timer);
    }
    return due.map(([timer]) => timer);
  }

  /** Names of the timers armed and not yet fired. */
  pending(): string[] {
    return [...this.#timers].filter(([, armed]) => !armed.fired).map(([timer]) => timer);
  }

  /** Disarms everything, as a crash would. */
  clear(): void {
    for (const armed of this.#timers.values()) armed.cancel();
    this.#timers.clear();
  }
}
