/**
 * Callers waiting for the node to reach a state: a read waiting for the local apply to reach its index, a
 * transfer waiting for the new leader, a membership change waiting for its configuration to be applied. Each
 * waiter has a deadline, and every check runs after each transition and each apply; there are few waiters at a
 * time (one per client request in flight), so checking them all is cheap.
 */
import type { Clock } from '../../effects/timers/index.js';
import { RequestTimeoutError } from './errors.js';

interface Waiter {
  /** Returns true once settled (it resolved or rejected the caller). */
  readonly check: () => boolean;
  readonly reject: (error: Error) => void;
  readonly cancelDeadline: () => void;
}

export class Waiters {
  readonly #open = new Set<Waiter>();

  constructor(private readonly clock: Clock) {}

  get size(): number {
    return this.#open.size;
  }

  /**
   * Resolves with `check`'s value once it returns one (not undefined); rejects with what it throws, or with a
   * `RequestTimeoutError` naming `what` after `timeoutMs`.
   */
  wait<T>(what: string, timeoutMs: number, check: () => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        check: () => {
          let value: T | undefined;
          try {
            value = check();
          } catch (error) {
            this.#settle(waiter);
            reject(error);
            return true;
          }
          if (value === undefined) return false;
          this.#settle(waiter);
          resolve(value);
          return true;
        },
        reject: (error) => {
          this.#settle(waiter);
          reject(error);
        },
        cancelDeadline: this.clock.schedule(timeoutMs, () =>
          waiter.reject(new RequestTimeoutError(what, timeoutMs)),
        ),
      };
      if (!waiter.check()) this.#open.add(waiter);
    });
  }

  /**
   * `promise`, or a `RequestTimeoutError` naming `what` after `timeoutMs`, when `abandon` is called: for what
   * settles by an effect of the core rather than by a state a check could see (a read's confirmation), so that it
   * too fails in time when the node cannot step (a write that hangs, say).
   */
  within<T>(what: string, timeoutMs: number, promise: Promise<T>, abandon: () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const cancelDeadline = this.clock.schedule(timeoutMs, () => {
        abandon();
        reject(new RequestTimeoutError(what, timeoutMs));
      });
      promise.then(
        (value) => {
          cancelDeadline();
          resolve(value);
        },
        (error: unknown) => {
          cancelDeadline();
          reject(error);
        },
      );
    });
  }

  check(): void {
    for (const waiter of [...this.#open]) waiter.check();
  }

  rejectAll(error: Error): void {
    for (const waiter of [...this.#open]) waiter.reject(error);
  }

  #settle(waiter: Waiter): void {
    waiter.cancelDeadline();
    this.#open.delete(waiter);
  }
}
