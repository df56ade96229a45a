/** Reconnection delays: exponential in the number of consecutive failures, capped, with jitter. */

export interface BackoffBounds {
  /** Delay ceiling after the first failure, in milliseconds. */
  readonly initialMs: number;
  /** Largest delay ceiling, in milliseconds. */
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffBounds = { initialMs: 50, maxMs: 5_000 };

/**
 * The delay before reconnecting after `failures` (>= 1) consecutive failures: uniform in [ceiling/2, ceiling)
 * where the ceiling doubles per failure up to `maxMs`. The jitter keeps the nodes of a cluster that lost a peer
 * together from reconnecting in lockstep; the lower half keeps a delay from collapsing to nothing.
 */
export function backoffDelay(
  failures: number,
  bounds: BackoffBounds,
  random: () => number = Math.random,
): number {
  const doublings = Math.min(Math.max(failures - 1, 0), 30);
  const ceiling = Math.min(bounds.maxMs, bounds.initialMs * 2 ** doublings);
  return ceiling / 2 + (random() * ceiling) / 2;
}
