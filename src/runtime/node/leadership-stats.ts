/**
 * Counters of elections and leadership as this node saw them, derived from its transitions (the state before
 * and after each event), so that the core keeps no counters of its own. They answer an operator's questions:
 * is the cluster electing too often (elections; pre-votes lost: a node that cannot reach a majority), did
 * leadership move (leader changes, transfers), did a leader lose its majority (check-quorum step-downs)?
 *
 * This is the one place the runtime reads the core's state beyond `status()`: the pre-candidate role, which
 * `status` reports as a follower, and the settings.
 */
import {
  CHECK_QUORUM_TIMER,
  ELECTION_TIMER,
  type Event,
  type NodeId,
  type RaftState,
} from '../../core/index.js';

export interface LeadershipStats {
  /** Elections this node started: it raised its term and voted for itself (after a pre-vote, or asked to). */
  readonly electionsStarted: number;
  /** Pre-votes this node started (thesis §9.6), and those that ended without an election. */
  readonly preVotesStarted: number;
  readonly preVotesLost: number;
  /** A leader became known here for a new term (this node included). */
  readonly leaderChanges: number;
  /** This node stepped down as leader because it had not heard from a majority within an election timeout. */
  readonly checkQuorumStepDowns: number;
  /** Leadership transfers this node began as leader; those that ended with the target leading; the others. */
  readonly transfersStarted: number;
  readonly transfersCompleted: number;
  readonly transfersFailed: number;
}

type Counts = { -readonly [K in keyof LeadershipStats]: number };

export class LeadershipCounter {
  readonly #counts: Counts = {
    electionsStarted: 0,
    preVotesStarted: 0,
    preVotesLost: 0,
    leaderChanges: 0,
    checkQuorumStepDowns: 0,
    transfersStarted: 0,
    transfersCompleted: 0,
    transfersFailed: 0,
  };
  /** The leader last known here, and its term: a leader is new when either differs. */
  #leader: { readonly id: NodeId; readonly term: number } | null = null;
  /** The target of the transfer this node began, until it ends. */
  #transfer: NodeId | null = null;

  constructor(readonly id: NodeId) {}

  get stats(): LeadershipStats {
    return { ...this.#counts };
  }

  /** Counts what changed from `before` to `after` in one step. Several role changes can happen in one step (a
   *  lone voter wins its pre-vote and its election at once), so only the two ends are compared. */
  observe<C>(event: Event<C>, before: RaftState<C>, after: RaftState<C>): void {
    const counts = this.#counts;
    const electionTimeout = event.type === 'timeout' && event.timer === ELECTION_TIMER;
    if (after.term > before.term && after.votedFor === this.id) counts.electionsStarted++;
    // A non-leader whose election timer fires campaigns: with pre-vote on, it starts with a pre-vote.
    if (
      electionTimeout &&
      before.role !== 'leader' &&
      after.settings.preVote &&
      (after.role === 'precandidate' || after.term > before.term)
    )
      counts.preVotesStarted++;
    // A pre-vote ends lost when its node gives up on it (a leader showed up, a higher term) or starts another,
    // and when the votes of the candidacy before it, come late, elect the node in its old term (no election).
    const won = after.role === 'candidate' || (after.role === 'leader' && after.term > before.term);
    if (before.role === 'precandidate' && (electionTimeout || (after.role !== 'precandidate' && !won)))
      counts.preVotesLost++;
    if (
      before.role === 'leader' &&
      after.role !== 'leader' &&
      event.type === 'timeout' &&
      event.timer === CHECK_QUORUM_TIMER
    )
      counts.checkQuorumStepDowns++;
    if (
      after.leaderId !== null &&
      (after.leaderId !== this.#leader?.id || after.term !== this.#leader.term)
    ) {
      counts.leaderChanges++;
      this.#leader = { id: after.leaderId, term: after.term };
    }
    this.#observeTransfer(before, after);
  }

  #observeTransfer<C>(before: RaftState<C>, after: RaftState<C>): void {
    const counts = this.#counts;
    if (after.transferee !== null && after.transferee !== before.transferee) {
      // A new target replaces any earlier one, whose transfer thereby failed.
      if (this.#transfer !== null) counts.transfersFailed++;
      counts.transfersStarted++;
      this.#transfer = after.transferee;
      return;
    }
    if (this.#transfer === null || after.leaderId === null) return;
    // The old leader learns of the new one from its first append; while the transfer is under way it names
    // itself as leader with a target set, and once the transfer timer ends it, with none.
    if (after.leaderId === this.#transfer) counts.transfersCompleted++;
    else if (after.leaderId !== this.id || after.transferee === null) counts.transfersFailed++;
    else return;
    this.#transfer = null;
  }
}
