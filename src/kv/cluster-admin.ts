/**
 * The service's membership operations (§6), behind `GET /cluster`, `POST /cluster/learners`,
 * `POST /cluster/promote` and `DELETE /cluster/members/{id}`. All of them run on the leader (anywhere else they
 * reject with NotLeaderError, which the HTTP layer turns into a redirect), because only the leader knows how far
 * each member's log matches its own, and only it can change the configuration.
 *
 * A new machine joins as a learner: its addresses are recorded in the replicated address book first (a
 * `member` entry, address-book.ts), so that every node's transport can reach it once the configuration names
 * it, then the configuration gains it as a learner. It receives the log (or a snapshot) and never votes; once it
 * has caught up it is promoted to voter. Promoting a learner that is far behind would leave the cluster waiting
 * for it to commit anything that needs its vote (thesis §4.2.1), hence the PROMOTE_MAX_LAG check.
 */
import { isVoter, type Membership, type NodeId } from '../core/index.js';
import {
  type MemberProgress,
  type NodeStatus,
  NotLeaderError,
  RequestRefusedError,
} from '../runtime/node/index.js';
import { formatAddress, type Member } from './address.js';
import type { MemberRecord } from './address-book.js';
import type { KvEntry, KvEntryResult } from './commands.js';
import { HttpError } from './request.js';

/**
 * The most log entries a learner may be behind the leader and still be promoted. A learner that keeps up with
 * a busy leader is behind by what is in flight (a few batches); one still catching up, by far more.
 */
export const PROMOTE_MAX_LAG = 100;

export type MemberRole = 'voter' | 'learner' | 'outgoing';

export interface MemberView {
  readonly id: NodeId;
  /** `outgoing`: a voter of the old configuration only, while a change is in progress. */
  readonly role: MemberRole;
  readonly raft: string | null;
  readonly http: string | null;
  /** How far its log matches the leader's, and how many entries it is behind (the leader's: 0). */
  readonly match: number;
  readonly lag: number;
  /** Heard from within the leader's current check-quorum period (the leader itself: true). */
  readonly active: boolean;
}

export interface ClusterView {
  readonly leader: NodeId;
  readonly term: number;
  readonly lastIndex: number;
  readonly commitIndex: number;
  /** A change is in progress: the joint configuration is in force (the next change waits for it to end). */
  readonly changing: boolean;
  readonly membership: Membership;
  readonly members: readonly MemberView[];
}

export interface LearnerRequest {
  readonly id: NodeId;
  /** `host:port` each. */
  readonly raft: string;
  readonly http: string;
}

export interface ChangeAnswer {
  readonly id: NodeId;
  /** The configuration now in force (committed). */
  readonly membership: Membership;
}

/** What the admin operations need of the node. */
export interface AdminNode {
  status(): NodeStatus;
  memberProgress(): ReadonlyMap<NodeId, MemberProgress> | undefined;
  changeMembership(voters: readonly NodeId[], learners?: readonly NodeId[]): Promise<Membership>;
  propose(entry: KvEntry): Promise<KvEntryResult>;
  until<T>(what: string, timeoutMs: number, check: (status: NodeStatus) => T | undefined): Promise<T>;
}

/** How long a retried request to add a learner waits for the configuration that lists it to be committed. */
const CHANGE_COMMIT_TIMEOUT_MS = 10_000;

export class ClusterAdmin {
  constructor(
    private readonly node: AdminNode,
    /** A member's addresses: the address book, else the node's seeds. */
    private readonly addressOf: (id: NodeId) => Member | undefined,
    /** Waits for a leader that is not handing over; NotLeaderError(leader or null) when that is not this node. */
    private readonly onLeader: () => Promise<void>,
  ) {}

  async view(): Promise<ClusterView> {
    await this.onLeader();
    const status = this.node.status();
    const progress = this.node.memberProgress();
    const { membership } = status;
    const members = [
      ...membership.voters.map((id) => [id, 'voter'] as const),
      ...(membership.outgoing ?? [])
        .filter((id) => !membership.voters.includes(id))
        .map((id) => [id, 'outgoing'] as const),
      ...membership.learners.map((id) => [id, 'learner'] as const),
    ].map(([id, role]): MemberView => {
      const address = this.addressOf(id);
      const self = id === status.id;
      const known = progress?.get(id);
      const match = self ? status.lastIndex : (known?.match ?? 0);
      return {
        id,
        role,
        raft: address === undefined ? null : formatAddress(address.raft),
        http: address === undefined ? null : formatAddress(address.http),
        match,
        lag: status.lastIndex - match,
        active: self || (known?.active ?? false),
      };
    });
    return {
      leader: status.id,
      term: status.term,
      lastIndex: status.lastIndex,
      commitIndex: status.commitIndex,
      changing: membership.outgoing !== undefined,
      membership,
      members,
    };
  }

  /**
   * Records the learner's addresses, then adds it to the configuration, and resolves once that is committed.
   * Asking again for a learner already there (a joining node that restarted before it knew it was added) only
   * records its addresses if they changed.
   */
  async addLearner(request: LearnerRequest): Promise<ChangeAnswer> {
    await this.onLeader();
    const { id } = request;
    const before = this.node.status().membership;
    if (isVoter(before, id)) throw new RequestRefusedError(`${id} is already a voter`);
    const already = before.learners.includes(id);
    if (!already) this.#refuseWhileChanging(before);
    const known = this.addressOf(id);
    const same =
      known !== undefined &&
      formatAddress(known.raft) === request.raft &&
      formatAddress(known.http) === request.http;
    if (!same) await this.#record({ op: 'member', id, raft: request.raft, http: request.http });
    if (already) return { id, membership: await this.#committedWith(id) };
    const now = this.node.status().membership;
    const membership = await this.node.changeMembership(now.voters, [...now.learners, id]);
    return { id, membership };
  }

  /** Makes a caught-up learner a voter; refuses one that lags by more than PROMOTE_MAX_LAG entries. */
  async promote(id: NodeId): Promise<ChangeAnswer> {
    await this.onLeader();
    const { membership, lastIndex } = this.node.status();
    if (isVoter(membership, id)) throw new RequestRefusedError(`${id} is already a voter`);
    if (!membership.learners.includes(id))
      throw new HttpError(404, `${id} is not a member: add it as a learner first (POST /cluster/learners)`);
    this.#refuseWhileChanging(membership);
    const progress = this.node.memberProgress()?.get(id);
    // A learner that acknowledged nothing yet (match 0) may not even be up, and the lag alone would pass it while
    // the log is short. (The core's "recently active" flag is no help: it is cleared for every member at each
    // check-quorum period and set again by the next answer, so it is false for a moment even for a live one.)
    if (progress === undefined || progress.match === 0)
      throw new RequestRefusedError(`cannot promote ${id}: it has not acknowledged any entry yet`);
    const lag = lastIndex - progress.match;
    if (lag > PROMOTE_MAX_LAG) {
      throw new RequestRefusedError(
        `cannot promote ${id}: it is ${lag} entries behind the leader (at most ${PROMOTE_MAX_LAG}); wait until it catches up`,
      );
    }
    const voters = [...membership.voters, id];
    const learners = membership.learners.filter((learner) => learner !== id);
    return { id, membership: await this.node.changeMembership(voters, learners) };
  }

  /** Removes a voter or a learner; the leader may remove itself (it steps down once the change commits). */
  async remove(id: NodeId): Promise<ChangeAnswer> {
    await this.onLeader();
    const { membership } = this.node.status();
    if (!isVoter(membership, id) && !membership.learners.includes(id))
      throw new HttpError(404, `${id} is not a member of the cluster`);
    this.#refuseWhileChanging(membership);
    const voters = membership.voters.filter((voter) => voter !== id);
    const learners = membership.learners.filter((learner) => learner !== id);
    return { id, membership: await this.node.changeMembership(voters, learners) };
  }

  /**
   * The configuration in force once the one that lists learner `id` is committed. A retried request finds the
   * learner listed already, maybe by a change not committed yet, which a new leader may drop: the answer
   * promises a committed one. That change is at or below the last index now, and once a joint configuration is
   * committed the change cannot be undone (§6), so a commit through that index is enough.
   */
  #committedWith(id: NodeId): Promise<Membership> {
    const through = this.node.status().lastIndex;
    return this.node.until(`the configuration listing learner ${id}`, CHANGE_COMMIT_TIMEOUT_MS, (status) => {
      if (status.role !== 'leader') throw new NotLeaderError(status.leaderId);
      if (!status.membership.learners.includes(id)) {
        throw new RequestRefusedError(`the change that added ${id} as a learner was lost: retry`);
      }
      const committed = status.commitIndex >= through && status.appliedIndex >= through;
      return committed ? status.membership : undefined;
    });
  }

  /** The core takes one change at a time: say so before recording anything. */
  #refuseWhileChanging(membership: Membership): void {
    if (membership.outgoing !== undefined)
      throw new RequestRefusedError('a membership change is already in progress: retry once it is done');
  }

  async #record(record: MemberRecord): Promise<void> {
    const result = await this.node.propose(record);
    if (result.op === 'refused') throw new HttpError(400, result.reason);
  }
}
