/**
 * The last request of each client, so that a retry gets the same answer without being applied twice. The table
 * is part of the replicated state, so it must evolve identically on every replica: it is bounded by evicting
 * the least recently used client, an order that depends only on the log. A client's first request (sequence 1)
 * is the only one accepted from a client the table does not know: a later one may be the retry of a request
 * applied before the client was evicted, so it is refused, and the client must start again with a new id. The
 * one retry that cannot be recognized is that of an evicted client's very first request, so the bound should be
 * far above the number of clients active at once.
 *
 * A request is remembered with a fingerprint of its command, so that a sequence number reused for another
 * command is refused instead of answered with the first command's result. A read's result is not kept: reads
 * are idempotent, so a retried read simply reads again.
 */
import { createHash } from 'node:crypto';
import type { KvOperation, KvResult, KvSession } from './commands.js';

export interface LastRequest {
  readonly seq: number;
  /** Of the command sent with `seq`: see `fingerprint`. */
  readonly fingerprint: string;
  /** The command's result; undefined for a read, which is answered afresh. */
  readonly result: KvResult | undefined;
}

export type SessionCheck =
  | { readonly kind: 'new' }
  /** A retry of the last request: answer `result`, or, when it is undefined (a read), execute it again. */
  | { readonly kind: 'duplicate'; readonly result: KvResult | undefined }
  /** Not to be applied, for `reason`. */
  | { readonly kind: 'refused'; readonly reason: string };

export const DEFAULT_MAX_SESSIONS = 10_000;

/**
 * What identifies a command apart from its session: a digest of its operation, key, value and expected value
 * in a fixed order, so that it is the same on every replica and small however large the value.
 */
export function fingerprint(operation: KvOperation): string {
  const { op, key } = operation;
  const value = op === 'put' || op === 'cas' ? operation.value : null;
  const expected = op === 'cas' ? operation.expected : null;
  return createHash('sha256')
    .update(JSON.stringify([op, key, value, expected]))
    .digest('base64');
}

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

  /** Every client's last request, least recently used first: a copy (O(clients)), which later requests do not
   *  change. What a snapshot holds. */
  entries(): [string, LastRequest][] {
    return [...this.#last];
  }

  /** Replaces the whole table (a restore) with `entries`, least recently used first, evicting past the bound. */
  replace(entries: Iterable<readonly [string, LastRequest]>): void {
    this.#last.clear();
    for (const [client, last] of entries) this.#last.set(client, last);
    this.#evict();
  }

  check({ client, seq }: KvSession, operation: KvOperation): SessionCheck {
    const last = this.#last.get(client);
    if (last === undefined) {
      if (seq === 1) return { kind: 'new' };
      return { kind: 'refused', reason: 'unknown or expired session: start a new client id at sequence 1' };
    }
    if (seq > last.seq) return { kind: 'new' };
    if (seq < last.seq) {
      return {
        kind: 'refused',
        reason: `stale request: client ${client} already sent seq ${last.seq}, this is seq ${seq}`,
      };
    }
    if (fingerprint(operation) !== last.fingerprint) {
      return {
        kind: 'refused',
        reason: `client ${client} reused seq ${seq} for a different command: use a new sequence number for a new request`,
      };
    }
    this.#touch(client, last);
    return { kind: 'duplicate', result: last.result };
  }

  record({ client, seq }: KvSession, operation: KvOperation, result: KvResult): void {
    const kept = operation.op === 'get' ? undefined : result;
    this.#touch(client, { seq, fingerprint: fingerprint(operation), result: kept });
    this.#evict();
  }

  /** Forgets the least recently used clients past the bound. */
  #evict(): void {
    while (this.#last.size > this.maxSessions) {
      const oldest = this.#last.keys().next().value as string;
      this.#last.delete(oldest);
    }
  }

  #touch(client: string, last: LastRequest): void {
    this.#last.delete(client);
    this.#last.set(client, last);
  }
}
