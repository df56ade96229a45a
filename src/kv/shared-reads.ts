/**
 * Linearizable reads that arrive together share one ReadIndex request (thesis §6.4). An index is good for a
 * read if the request that produced it began after the read arrived: the leader then confirmed its leadership
 * after the read arrived, so every write acknowledged before the read is at or below the index. So the reads
 * that arrive in one turn of the event loop (the HTTP requests that came in together) gather, and one request
 * starts for all of them at the end of the turn, without waiting for the requests already in flight: a read
 * waits for one confirmation round, not for the rest of one in flight and then another. At most
 * MAX_REQUESTS_IN_FLIGHT are in flight; past that, reads gather until one settles. On the leader this saves a
 * reducer step per read; on a follower, an HTTP round trip to the leader per read.
 */
export const MAX_REQUESTS_IN_FLIGHT = 4;

export class SharedReads {
  readonly #readIndex: () => Promise<number>;
  /** The request the reads arriving now will share: it starts at the end of this turn, or when one settles. */
  #gathering: Promise<number> | null = null;
  #inFlight = 0;
  /** Gatherings waiting for a request in flight to settle (at most one: reads join the one gathering). */
  readonly #waitingForSlot: (() => void)[] = [];
  /** ReadIndex requests made, for /metrics: below the reads served when reads shared them. */
  requests = 0;

  constructor(readIndex: () => Promise<number>) {
    this.#readIndex = readIndex;
  }

  /** Resolves with an index the caller's read may be served at, once this node has applied through it. */
  index(): Promise<number> {
    this.#gathering ??= this.#gather();
    return this.#gathering;
  }

  async #gather(): Promise<number> {
    await new Promise((resolve) => setImmediate(resolve));
    while (this.#inFlight >= MAX_REQUESTS_IN_FLIGHT) {
      await new Promise<void>((resolve) => this.#waitingForSlot.push(resolve));
    }
    // From here on, a read that arrives needs a request that starts after it: the next gathering.
    this.#gathering = null;
    this.#inFlight++;
    this.requests++;
    try {
      return await this.#readIndex();
    } finally {
      this.#inFlight--;
      this.#waitingForSlot.shift()?.();
    }
  }
}
