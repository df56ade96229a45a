/**
 * The last request of each client and its result, so that a retry gets the same answer without being applied
 * twice. The table is part of the replicated state, so it must evolve identically on every replica: it is
 * bounded by evicting the least recently used client, an order that depends only on the log. A client evicted
 * and then retrying an old request would see it applied again, so the bound should be far above the number of
 * clients active at once.
 */
import type { KvResult, KvSession } from './commands.js';

interface LastRequest {
  readonly seq: number;
  readonly result: KvResult;
}

export type SessionCheck =
  | { readonly kind: 'new' }
  | { readonly kind: 'duplicate'; readonly result: KvResult }
  | { readonly kind: 'stale'; readonly lastSeq: number };

export const DEFAULT_MAX_SESSIONS = 10_000;

export class SessionTable {
  /** In least recently used order: a Map iterates in insertion order, and every use re-inserts. */
  readonly #last = new Map<string, LastRequest>();

  constructor(readonly maxSessions = DEFAULT_MAX_SESSIONS) {
    if (!Number.isSafeInteger(maxSessions) || maxSessions < 1)
      throw new RangeError(`maxSessions must be a positive integer, got ${maxSessions}`);
  }

  get size(): number {
    return this.#last.size;
  }

  check({ client, seq }: KvSession): SessionCheck {
    const last = this.#last.get(client);
    if (last === undefined || seq > last.seq) return { kind: 'new' };
    if (seq === last.seq) {
      this.#touch(client, last);
      return { kind: 'duplicate', result: last.result };
    }
    return { kind: 'stale', lastSeq: last.seq };
  }

  record({ client, seq }: KvSession, result: KvResult): void {
    this.#touch(client, { seq, result });
    if (this.#last.size > this.maxSessions) {
      const oldest = this.#last.keys().next().value as string;
      this.#last.delete(oldest);
    }
  }

  #touch(client: string, last: LastRequest): void {
    this.#last.delete(client);
    this.#last.set(client, last);
  }
}
