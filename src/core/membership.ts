/**
 * Cluster membership (§6, thesis §4): which configuration is in force, what counts as a majority under it, and
 * how a change is shaped. A configuration takes effect on a node as soon as its entry is in that node's log,
 * committed or not, and reverts if that entry is truncated; so the node keeps the configuration at its log's
 * base (from the snapshot, or the initial one) and the configuration entries after it, a short list.
 */
import { invariant } from './invariant.js';
import { committedIndex, type VoteResult, voteResult } from './quorum.js';
import type { Entry, Membership, NodeId } from './types.js';
import { utf8Length } from './utf8.js';

export interface ConfigAt {
  /** Index of the entry that put it in force; the base's index for the base. */
  readonly index: number;
  readonly membership: Membership;
}

/**
 * The configuration at the log's base and the configuration entries after it, as an immutable value: like the
 * log, it lives outside immer's drafts (private fields), so that the memberships it hands out are plain data
 * that entries, snapshots and messages can carry after the transition ends.
 */
export class Configs {
  readonly #base: ConfigAt;
  readonly #changes: readonly ConfigAt[];

  constructor(base: ConfigAt, changes: readonly ConfigAt[] = []) {
    this.#base = base;
    this.#changes = changes;
  }

  /** The configurations a log holds, on top of the one in force at its base. */
  static of<C>(base: ConfigAt, entries: readonly Entry<C>[]): Configs {
    return new Configs(base).withAppended(entries);
  }

  /** In force now: the last configuration entry in the log, else the base's. */
  get current(): ConfigAt {
    // Not `changes[length - 1] ?? base`: reading index -1 of an empty list is a slow lookup in V8, and this is
    // read several times in every transition (measured).
    const n = this.#changes.length;
    return n === 0 ? this.#base : this.#changes[n - 1]!;
  }

  /** The configuration the current one replaced, while its entry is still in the log (else undefined). */
  get previous(): ConfigAt | undefined {
    const n = this.#changes.length;
    return n === 0 ? undefined : n === 1 ? this.#base : this.#changes[n - 2];
  }

  /**
   * Whether the configuration in force at `index` is known for certain. A node's starting configuration is
   * taken on trust when it comes from its settings (the base at index 0): true of a founding member, but a node
   * that joined a running cluster was started with the voters current when it joined, and entries that reach it
   * from before the cluster's earlier changes were made under other ones. So a base from settings that leaves
   * `self` out is known only from the first configuration entry on.
   */
  knownAt(index: number, self: NodeId): boolean {
    const base = this.#base;
    if (base.index > 0 || isMember(base.membership, self)) return true;
    const first = this.#changes[0];
    return first !== undefined && first.index <= index;
  }

  /** The configuration in force at `index` (at or after the base). */
  membershipAt(index: number): Membership {
    let found = this.#base;
    for (const change of this.#changes) if (change.index <= index) found = change;
    return found.membership;
  }

  withAppended<C>(entries: readonly Entry<C>[]): Configs {
    let changes: ConfigAt[] | undefined;
    for (const entry of entries) {
      if (entry.kind !== 'config') continue;
      invariant(entry.membership !== undefined, 'a config entry carries its membership');
      changes ??= [...this.#changes];
      changes.push({ index: entry.index, membership: entry.membership });
    }
    return changes === undefined ? this : new Configs(this.#base, changes);
  }

  withTruncated(from: number): Configs {
    const kept = this.#changes.filter((change) => change.index < from);
    return kept.length === this.#changes.length ? this : new Configs(this.#base, kept);
  }

  /**
   * The log now starts after a snapshot through `index`, whose configuration becomes the base; the entries
   * after it stay (`keepChanges`) or were discarded with the rest of the log.
   */
  withBase(index: number, membership: Membership, keepChanges: boolean): Configs {
    const changes = keepChanges ? this.#changes.filter((change) => change.index > index) : [];
    return new Configs({ index, membership }, changes);
  }

  toJSON(): { base: ConfigAt; changes: readonly ConfigAt[] } {
    return { base: this.#base, changes: this.#changes };
  }
}

/** The configuration in force. */
export function current(configs: Configs): ConfigAt {
  return configs.current;
}

/** A voter takes part in elections and commitment: in `voters` or, during a joint change, in `outgoing`. */
export function isVoter(m: Membership, id: NodeId): boolean {
  return m.voters.includes(id) || (m.outgoing?.includes(id) ?? false);
}

/** A voter (incoming or outgoing) or a learner. */
export function isMember(m: Membership, id: NodeId): boolean {
  return isVoter(m, id) || m.learners.includes(id);
}

export function isLearner(m: Membership, id: NodeId): boolean {
  return m.learners.includes(id) && !isVoter(m, id);
}

/** Everyone the leader replicates to: voters, outgoing voters and learners, but itself. */
export function replicationTargets(m: Membership, self: NodeId): NodeId[] {
  const targets = new Set<NodeId>([...m.voters, ...(m.outgoing ?? []), ...m.learners]);
  targets.delete(self);
  return [...targets];
}

/**
 * The highest value that a majority holds (§5.3), and during a joint change a majority of both the new and
 * the old voters (§6): the smaller of the two.
 */
export function jointCommitted(m: Membership, valueOfVoter: (voter: NodeId) => number): number {
  const incoming = committedIndex(m.voters, valueOfVoter);
  return m.outgoing === undefined ? incoming : Math.min(incoming, committedIndex(m.outgoing, valueOfVoter));
}

/** An election is won with a majority of the voters, and during a joint change of the old voters too (§6). */
export function jointVoteResult(
  m: Membership,
  granted: readonly NodeId[],
  refused: readonly NodeId[],
): VoteResult {
  const incoming = voteResult(m.voters, granted, refused);
  const outgoing = m.outgoing === undefined ? 'won' : voteResult(m.outgoing, granted, refused);
  if (incoming === 'lost' || outgoing === 'lost') return 'lost';
  return incoming === 'won' && outgoing === 'won' ? 'won' : 'pending';
}

/**
 * About the bytes a configuration takes on the wire (each id's UTF-8 and a byte of length), for the leader's
 * byte budget per append: a configuration may list thousands of ids, and entries that count nothing would
 * let a batch of them outgrow a frame, which the transport drops, and the follower would never catch up.
 */
export function membershipSize(m: Membership): number {
  let bytes = 0;
  for (const ids of [m.voters, m.learners, m.outgoing ?? []]) {
    for (const id of ids) bytes += utf8Length(id) + 1;
  }
  return bytes;
}

/** Why a membership is malformed (as a config would be refused), or undefined. */
export function whyMembershipMalformed(m: Membership): string | undefined {
  if (typeof m !== 'object' || m === null) return 'membership must be an object';
  const sets: [string, unknown][] = [
    ['voters', m.voters],
    ['learners', m.learners],
  ];
  if (m.outgoing !== undefined) sets.push(['outgoing', m.outgoing]);
  for (const [name, ids] of sets) {
    if (!Array.isArray(ids)) return `${name} must be an array`;
    if (!ids.every((id) => typeof id === 'string' && id.length > 0)) return `${name} must be non-empty ids`;
    if (new Set(ids).size !== ids.length) return `${name} has duplicates`;
  }
  if (m.voters.length === 0) return 'a configuration needs at least one voter';
  if (m.outgoing !== undefined && m.outgoing.length === 0) return 'outgoing voters cannot be empty';
  // A set, not voters.includes per learner: messages from the network are checked here, and a list of a
  // thousand ids each must not cost a million comparisons per config entry (a frame of such entries stalled a
  // node for seconds).
  const voters = new Set(m.voters);
  const learnerVoter = m.learners.find((id) => voters.has(id));
  if (learnerVoter !== undefined) return `${learnerVoter} cannot be both a voter and a learner`;
  return undefined;
}

/**
 * Why a change from `from` to `voters` (+ `learners`) cannot start, or undefined: the service asks this before
 * stepping a `changeMembership`, to tell its caller the reason (the core itself only ignores a bad change).
 */
export function whyChangeInvalid(
  from: Membership,
  voters: readonly NodeId[],
  learners: readonly NodeId[] = [],
): string | undefined {
  if (from.outgoing !== undefined) return 'a membership change is already in progress';
  return whyMembershipMalformed({ voters, learners });
}

/** §6: the joint configuration that every change goes through: the new voters with the old ones outgoing. */
export function jointOf(
  from: Membership,
  voters: readonly NodeId[],
  learners: readonly NodeId[],
): Membership {
  return { voters: [...voters], learners: [...learners], outgoing: [...from.voters] };
}

/** The configuration a joint one leads to. */
export function finalOf(joint: Membership): Membership {
  return { voters: joint.voters, learners: joint.learners };
}
