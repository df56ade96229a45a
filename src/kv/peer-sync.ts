/**
 * Keeps the transport's list of peers equal to the members of the configuration in force, at the addresses the
 * address book gives (address-book.ts), or the node's seeds (the peers it was started with) for a member the
 * book does not know yet. The transport takes connections only from the peers it has an address for, so this is
 * what lets a new member connect, and what cuts a removed one off.
 *
 * A node's routes (`--route`) override where it dials a member's Raft port, whatever the book says: the book
 * holds one address per member, the one it listens on, which is not where every node reaches it behind NAT, a
 * tunnel or a proxy (the fault suite's nodes reach each other through a proxy per link). A route changes
 * nothing else: the member's addresses as the cluster knows them (GET /cluster, the HTTP redirects, peers.json)
 * stay the book's.
 *
 * The members are those of the configuration in force (the last in the log, §6) and of the last committed one:
 * a member that an uncommitted configuration leaves out is still reached until that configuration is committed
 * here. Without that, followers that append a configuration removing the leader would cut the leader off
 * before their acknowledgements reach it, and it could never commit its own removal (it would step down by
 * check-quorum, leaving the change to the next leader and clients with a timeout).
 *
 * It runs on every configuration change seen (RaftNode's `onMembershipChange`: a config entry in the log or
 * truncated, one applied, a snapshot) and on every change of the address book (an applied member entry, a
 * restored snapshot).
 */
import type { Membership, NodeId } from '../core/index.js';
import type { MembershipChange } from '../runtime/node/index.js';
import { type Address, type Member, parseHostPort } from './address.js';
import type { AddressBook } from './address-book.js';

/** What PeerSync needs of the transport (TcpTransport has it). */
export interface PeerDirectory {
  setPeer(id: NodeId, address: Address): void;
  removePeer(id: NodeId): void;
  readonly members: readonly NodeId[];
}

/** Everyone in a configuration: voters, outgoing voters and learners. */
export function membersOf(membership: Membership): NodeId[] {
  return [...new Set([...membership.voters, ...(membership.outgoing ?? []), ...membership.learners])];
}

export class PeerSync {
  #membership: MembershipChange | undefined;
  /** Members already reported as having no address, so that the log says it once. */
  readonly #reported = new Set<NodeId>();

  constructor(
    private readonly self: NodeId,
    private readonly transport: PeerDirectory,
    private readonly book: AddressBook,
    private readonly seeds: Readonly<Record<NodeId, Member>>,
    /** Where this node dials some members' Raft ports instead of their recorded address. */
    private readonly routes: Readonly<Record<NodeId, Address>>,
    private readonly log: (line: string) => void,
    /** Hears, after each sync, the members this node can reach and where (for peer-cache.ts). */
    private readonly onReachable: (members: ReadonlyMap<NodeId, Member>) => void = () => {},
  ) {}

  /** Where `id` can be reached: the replicated book first (it is newer), then the seeds. */
  addressOf(id: NodeId): Member | undefined {
    const recorded = this.book.get(id);
    if (recorded !== undefined) {
      const raft = parseHostPort(recorded.raft);
      const http = parseHostPort(recorded.http);
      // The state machine refuses malformed entries, so both parse; a seed is the fallback all the same.
      if (raft !== undefined && http !== undefined) return { raft, http };
    }
    return Object.hasOwn(this.seeds, id) ? this.seeds[id] : undefined;
  }

  /** Where this node connects to `id`'s Raft port: its route if it has one, else its address. */
  dialAddressOf(id: NodeId): Address | undefined {
    return (Object.hasOwn(this.routes, id) ? this.routes[id] : undefined) ?? this.addressOf(id)?.raft;
  }

  membershipChanged(change: MembershipChange): void {
    this.#membership = change;
    this.sync();
  }

  /** Makes the transport's peers the members of the configuration in force, but this node. */
  sync(): void {
    if (this.#membership === undefined) return;
    const { current, committed } = this.#membership;
    const wanted = new Set([...membersOf(current), ...membersOf(committed)]);
    wanted.delete(this.self);
    for (const id of this.transport.members) {
      if (!wanted.has(id)) {
        this.transport.removePeer(id);
        this.log(`${id} is no longer a member: its connections are closed`);
      }
    }
    const reachable = new Map<NodeId, Member>();
    for (const id of wanted) {
      const dial = this.dialAddressOf(id);
      if (dial !== undefined) {
        // Addresses are checked before they are recorded, and ids by the codec; should one still be refused,
        // the member stays unreachable rather than the node stopping (this runs inside a transition).
        try {
          this.transport.setPeer(id, dial);
          this.#reported.delete(id);
          const address = this.addressOf(id);
          if (address !== undefined) reachable.set(id, address);
        } catch (error) {
          this.log(`cannot reach member ${id} at its address: ${(error as Error).message}`);
        }
      } else if (!this.#reported.has(id)) {
        this.#reported.add(id);
        this.log(`member ${id} has no known address yet: it cannot be reached until one is recorded`);
      }
    }
    this.onReachable(reachable);
  }
}
