/**
 * A client of the key-value HTTP API for the cluster tests: it follows redirects to the leader, and retries
 * a request (on another node, with the same session id and sequence number, so it is applied at most once)
 * until it is acknowledged or its time is up.
 */
import { sleep } from './harness.js';

export class KvClient {
  #seq = 0;
  #next = 0;

  constructor(
    readonly clientId: string,
    /** The nodes' base URLs: requests start at each in turn, so they go through different nodes. */
    private readonly urls: readonly string[],
  ) {}

  /**
   * PUTs the value; resolves true once a node acknowledged it (200), false if no node did within `ms`.
   * Gives up early only on a 4xx, which a retry would not fix.
   */
  async put(key: string, value: string, ms = 10_000): Promise<boolean> {
    const headers = { 'X-Client-Id': this.clientId, 'X-Client-Seq': String(++this.#seq) };
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const url = this.urls[this.#next++ % this.urls.length]!;
      try {
        const response = await fetch(`${url}/kv/${encodeURIComponent(key)}`, {
          method: 'PUT',
          body: value,
          headers,
          signal: AbortSignal.timeout(2_000),
        });
        await response.body?.cancel();
        if (response.status === 200) return true;
        if (response.status >= 400 && response.status < 500)
          throw new Error(`PUT ${key}: ${response.status}`);
      } catch (error) {
        if ((error as Error).message.startsWith('PUT ')) throw error;
        // Refused, reset or timed out: the node is down or busy; try another.
      }
      await sleep(25);
    }
    return false;
  }

  /** A linearizable read (ReadIndex), served by the node asked, or where it redirects. */
  async get(url: string, key: string): Promise<string | null> {
    const response = await fetch(`${url}/kv/${encodeURIComponent(key)}`, {
      signal: AbortSignal.timeout(5_000),
    });
    if (response.status === 404) return null;
    if (response.status !== 200) throw new Error(`GET ${key}: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { value: string }).value;
  }
}

export interface LoadReport {
  /** Key to value, for every write a node acknowledged. */
  readonly acknowledged: Map<string, string>;
  /** Writes no node acknowledged in time (they may or may not have been applied). */
  readonly unacknowledged: number;
}

/**
 * Writes `count` distinct keys with `concurrency` clients, each client sending through the nodes in turn.
 * `onProgress` is called after each acknowledgement with the number so far, to inject faults mid-load.
 */
export async function writeKeys(
  urls: readonly string[],
  {
    count,
    concurrency,
    prefix,
    onProgress = () => {},
  }: {
    count: number;
    concurrency: number;
    prefix: string;
    onProgress?: (acknowledged: number) => void;
  },
): Promise<LoadReport> {
  const acknowledged = new Map<string, string>();
  let unacknowledged = 0;
  let next = 0;
  const worker = async (client: KvClient) => {
    for (let i = next++; i < count; i = next++) {
      const key = `${prefix}-${String(i).padStart(5, '0')}`;
      const value = `value-${i}-${client.clientId}`;
      if (await client.put(key, value)) {
        acknowledged.set(key, value);
        onProgress(acknowledged.size);
      } else unacknowledged++;
    }
  };
  await Promise.all(
    Array.from({ length: concurrency }, (_, c) =>
      worker(new KvClient(`${prefix}-client-${c}`, rotate(urls, c))),
    ),
  );
  return { acknowledged, unacknowledged };
}

function rotate<T>(items: readonly T[], by: number): T[] {
  return items.map((_, i) => items[(i + by) % items.length]!);
}
