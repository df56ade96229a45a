/**
 * Linearizable reads that arrive together share one ReadIndex request (thesis §6.4). An index is good for a
 * read if the request that produced it began after the read arrived: the leader then confirmed its leadership
 * after the read arrived, so every write acknowledged before the read is at or below the index. So a read that
 * arrives while a request is in flight waits for the next one, which starts when that one settles and serves
 * every read that arrived meanwhile: at most one request in flight and one gathering, as the core itself
 * batches confirmation rounds. On the leader this saves a reducer step per read; on a follower, an HTTP round
 * trip to the leader per read.
 */
export class SharedReads {
  readonly #readIndex: () => Promise<number>;
  #inFlight: Promise<number> | null = null;
  /** The request that starts when the one in flight settles, shared by the reads that arrive meanwhile. */
  #next: Promise<number> | null = null;
  /** ReadIndex requests made, for /metrics: below the reads served when reads shared them. */
  requests = 0;

  constructor(readIndex: () => Promise<number>) {
    this.#readIndex = readIndex;
  }

  /** Resolves with an index the caller's read may be served at, once this node has applied through it. */
  index(): Promise<number> {
    if (this.#next !== null) return this.#next;
    const inFlight = this.#inFlight;
    if (inFlight === null) return this.#start();
    const next = inFlight.then(ignore, ignore).then(() => {
      this.#next = null;
      return this.#start();
    });
    this.#next = next;
    return next;
  }

  #start(): Promise<number> {
    this.requests++;
    const request = Promise.resolve().then(this.#readIndex);
    this.#inFlight = request;
    request.then(ignore, ignore).then(() => {
      if (this.#inFlight === request) this.#inFlight = null;
    });
    return request;
  }
}

function ignore(): void {}
