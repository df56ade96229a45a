/**
 * The cluster's address book: where each member listens for Raft and serves HTTP. The contract fixes the shape
 * of a configuration (`Membership`: ids only), so addresses cannot ride in config entries; instead the service
 * replicates them through its own log, as `member` entries applied by the state machine, and keeps them in its
 * snapshot, so that a node that catches up by snapshot learns them too. A node seeds its book with the peers it
 * was started with (flags or config file); what the log says wins over the seeds.
 *
 * An entry is recorded before the configuration change that names the member (cluster-admin.ts), so that by
 * the time the leader replicates to a new learner it has its address. Entries are never deleted: a removed
 * member's address is harmless (the transport only takes the members of the configuration in force, see
 * peer-sync.ts), and a replacement with the same id records its new address over it.
 */
import type { NodeId } from '../core/index.js';
import { checkNodeId } from '../effects/transport/index.js';
import { whyBadAddress } from './address.js';

/** A member's addresses, `host:port` each. */
export interface MemberAddresses {
  readonly raft: string;
  readonly http: string;
}

/** The log entry that records (or changes) a member's addresses. */
export interface MemberRecord extends MemberAddresses {
  readonly op: 'member';
  readonly id: NodeId;
}

/** Why `record` is not a well-formed member entry, or undefined: the state machine refuses a bad one. */
export function checkMemberRecord(record: unknown): string | undefined {
  if (typeof record !== 'object' || record === null) return 'a member entry must be an object';
  const { id, raft, http } = record as Record<string, unknown>;
  if (typeof id !== 'string') return 'id must be a string';
  const idProblem = checkNodeId(id);
  if (idProblem !== undefined) return `bad id: ${idProblem}`;
  return whyBadAddress(raft, 'raft') ?? whyBadAddress(http, 'http');
}

export class AddressBook {
  readonly #members = new Map<NodeId, MemberAddresses>();

  get size(): number {
    return this.#members.size;
  }

  get(id: NodeId): MemberAddresses | undefined {
    return this.#members.get(id);
  }

  /** Records `id`'s addresses; returns what it had before. */
  record(id: NodeId, addresses: MemberAddresses): MemberAddresses | null {
    const previous = this.#members.get(id) ?? null;
    this.#members.set(id, { raft: addresses.raft, http: addresses.http });
    return previous;
  }

  /** Every entry, sorted by id (the order snapshots write them in, the same on every replica). */
  entries(): [NodeId, MemberAddresses][] {
    return [...this.#members].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  replace(entries: Iterable<readonly [NodeId, MemberAddresses]>): void {
    this.#members.clear();
    for (const [id, addresses] of entries) this.#members.set(id, addresses);
  }
}
