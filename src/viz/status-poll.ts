/**
 * Asks each node process of a live cluster for its /status now and then, to tell which are up: a node that
 * was killed writes nothing more to its trace, so only its silence here says it is down.
 */

export interface Watched {
  readonly id: string;
  /** The node's HTTP base address, e.g. http://127.0.0.1:8001. */
  readonly url: string;
}

export type UpListener = (id: string, up: boolean) => void;

const POLL_MS = 500;
const TIMEOUT_MS = 400;

export class StatusPoll {
  readonly up = new Map<string, boolean>();
  readonly #listeners = new Set<UpListener>();
  #timer: NodeJS.Timeout | undefined;

  constructor(readonly nodes: readonly Watched[]) {}

  start(): void {
    this.#timer = setInterval(() => void this.poll(), POLL_MS);
    void this.poll();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  listen(listener: UpListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async poll(): Promise<void> {
    await Promise.all(
      this.nodes.map(async ({ id, url }) => {
        const up = await fetch(`${url}/status`, { signal: AbortSignal.timeout(TIMEOUT_MS) }).then(
          (response) => response.ok,
          () => false,
        );
        if (this.up.get(id) === up) return;
        this.up.set(id, up);
        for (const listener of this.#listeners) listener(id, up);
      }),
    );
  }
}
