/**
 * Raft (extended paper, Figure 2, and the thesis for what production needs) as a pure reducer. `step` settles
 * the term first (§5.1), then hands the event to the function of the node's role. Roles change only in
 * `becomeFollower`, `becomePreCandidate`, `becomeCandidate` and `becomeLeader`, each of which resets exactly
 * the state its role owns.
 */
import { produce } from 'immer';
import { copyByHand, finishByHand, type StateDraft } from './draft.js';
import {
  ELECTION_TIMER,
  onPreVote,
  onRequestVote,
  resetElectionTimer,
  tally,
  tallyLateGrant,
} from './election.js';
import { onAppendEntries, onInstallSnapshot, replyAppend, replySnapshot } from './follower.js';
import { invariant } from './invariant.js';
import { RaftLog } from './log.js';
import { appendToLog, syncProgress, takeSnapshot } from './log-writes.js';
import {
  Configs,
  current,
  finalOf,
  isLearner,
  isVoter,
  jointCommitted,
  jointOf,
  whyChangeInvalid,
} from './membership.js';
import { Output } from './output.js';
import { becomeProbe, Tracker } from './progress.js';
import {
  endLease,
  expireReads,
  failReads,
  LEASE_TIMER,
  measureLease,
  onLeaseTimeout,
  onRead,
  releaseReads,
} from './reads.js';
import {
  broadcastAppend,
  HEARTBEAT_TIMER,
  heartbeat,
  maybeCommit,
  onAppendResponse,
  onSnapshotResponse,
  sendAppend,
  trackerOf,
} from './replication.js';
import { settle } from './settings.js';
import type {
  Config,
  Durable,
  Effect,
  Entry,
  Event,
  Membership,
  Message,
  NodeId,
  RaftState,
  Status,
} from './types.js';
import { isWellFormed } from './wellformed.js';

export type Transition<C> = readonly [RaftState<C>, readonly Effect<C>[]];
type S<C> = StateDraft<C>;

export { ELECTION_TIMER } from './election.js';
/** Check-quorum (thesis §6.2): a leader checks every minimum election timeout that a majority was heard from. */
export const CHECK_QUORUM_TIMER = 'checkQuorum';
/** Leadership transfer (thesis §3.10): how long a leader waits for its transfer to succeed. */
export const TRANSFER_TIMER = 'transfer';

/** Checks what storage handed back: it is the embedder's input, so a bad one is a clear error, not a repair. */
function restoreLog<C>(durable: Durable<C>): RaftLog<C> {
  const { hardState, entries, snapshot } = durable;
  if (!Number.isSafeInteger(hardState.term) || hardState.term < 0)
    throw new RangeError(`durable term ${hardState.term} is invalid`);
  const baseIndex = snapshot?.meta.index ?? 0;
  let lastTerm = snapshot?.meta.term ?? 0;
  if (lastTerm > hardState.term)
    throw new RangeError(`durable snapshot has term ${lastTerm}, past term ${hardState.term}`);
  entries.forEach((entry, position) => {
    if (entry.index !== baseIndex + position + 1) {
      throw new RangeError(
        `durable entries must be contiguous from index ${baseIndex + 1}: found ${entry.index} at position ${position}`,
      );
    }
    if (entry.term < lastTerm || entry.term > hardState.term) {
      throw new RangeError(
        `durable entry ${entry.index} has term ${entry.term}, out of order or past term ${hardState.term}`,
      );
    }
    lastTerm = entry.term;
  });
  return RaftLog.from(entries, snapshot ?? null);
}

/** The configurations a restarted node finds in its storage: the snapshot's, then its config entries (§6). */
function configsOf<C>(initial: Membership, durable: Durable<C> | undefined): Configs {
  const snapshot = durable?.snapshot;
  const base = { index: snapshot?.meta.index ?? 0, membership: snapshot?.meta.membership ?? initial };
  return Configs.of(base, durable?.entries ?? []);
}

/**
 * A node as it starts (or restarts from `durable`): a follower with its election timer armed, and, if storage
 * holds a snapshot, a `restore` of it first (contract 12): the service starts from the snapshot's state.
 */
export function init<C>(config: Config, durable?: Durable<C>): Transition<C> {
  const settings = settle(config);
  const log = durable === undefined ? RaftLog.empty<C>() : restoreLog(durable);
  const state: RaftState<C> = {
    settings,
    role: 'follower',
    term: durable?.hardState.term ?? 0,
    votedFor: durable?.hardState.votedFor ?? null,
    leaderId: null,
    log,
    configs: configsOf(settings.initialMembership, durable),
    commitIndex: log.base.index,
    appliedIndex: log.base.index,
    rng: Math.floor(config.seed) >>> 0,
    votesGranted: [],
    votesRefused: [],
    candidacyGrants: [],
    progress: Tracker.EMPTY,
    transferee: null,
    round: 0,
    pendingReads: [],
    leaseRound: 0,
    leaseForfeited: false,
    // A node that went down in a term may have heard from a leader just before: it keeps that leader's lease
    // (reads.ts). One that never left term 0 never heard from a leader.
    votesWithheld: settings.leaseReads && (durable?.hardState.term ?? 0) > 0,
  };
  // Contract 5: a crash loses all timers, so init arms what the node needs.
  return transition(state, start, undefined, false);
}

function start<C>(s: S<C>, _event: undefined, out: Output<C>): void {
  if (s.log.snapshot !== null) out.restore = s.log.snapshot;
  resetElectionTimer(s, out);
}

/** Feeds one event to the node; returns the next state and the effects to run, in order. */
export function step<C>(state: RaftState<C>, event: Event<C>): Transition<C> {
  return transition(state, dispatch, event, changesOnlyFields(event));
}

/**
 * The events of steady replication (a proposal, an append and its answer: nine of every ten transitions of a
 * busy cluster) only assign the state's fields; every handler they reach replaces an array rather than change
 * it. So they skip immer's draft (draft.ts, `produceByHand`), whose proxy traps cost more than the handlers.
 * Elections, reads, membership, snapshots and timers keep the draft.
 */
function changesOnlyFields<C>(event: Event<C>): boolean {
  if (event.type === 'propose') return true;
  return (
    event.type === 'receive' &&
    (event.message.type === 'AppendEntries' || event.message.type === 'AppendEntriesResponse')
  );
}

/** One transition: `handle` (module functions, not closures: a closure per step costs on the hottest path). */
function transition<C, E>(
  state: RaftState<C>,
  handle: (s: S<C>, event: E, out: Output<C>) => void,
  event: E,
  byHand: boolean,
): Transition<C> {
  const out = new Output<C>();
  let next: RaftState<C>;
  if (byHand) {
    const s = copyByHand(state);
    runHandler(s, handle, event, out);
    next = finishByHand(state, s);
  } else {
    next = produce(state, (draft) => runHandler(draft as unknown as S<C>, handle, event, out));
  }
  next.progress.seal();
  checkInvariants(next);
  return [next, out.effects(state, next)];
}

/** The handler, then what follows every event: a leader's own duties, and the applies. */
function runHandler<C, E>(
  s: S<C>,
  handle: (s: S<C>, event: E, out: Output<C>) => void,
  event: E,
  out: Output<C>,
): void {
  handle(s, event, out);
  if (s.role === 'leader') afterLeaderStep(s, out);
  collectApplies(s, out);
}

export function status(state: RaftState<unknown>): Status {
  const { id } = state.settings;
  const { membership } = current(state.configs);
  const role =
    state.role === 'leader' || state.role === 'candidate'
      ? state.role
      : isLearner(membership, id)
        ? 'learner'
        : 'follower';
  return {
    id,
    role,
    term: state.term,
    votedFor: state.votedFor,
    leaderId: state.leaderId,
    commitIndex: state.commitIndex,
    lastIndex: state.log.lastIndex,
    lastTerm: state.log.lastTerm,
    membership,
    snapshotIndex: state.log.base.index,
    transferring: state.transferee,
  };
}

function dispatch<C>(s: S<C>, event: Event<C>, out: Output<C>): void {
  switch (event.type) {
    case 'timeout':
      return onTimeout(s, event.timer, out);
    case 'receive':
      return receive(s, event.message, out);
    case 'propose':
      return propose(s, event.command, out);
    case 'snapshot':
      return takeSnapshot(s, event.index, event.data, out);
    case 'changeMembership':
      return changeMembership(s, event.voters, event.learners ?? [], out);
    case 'transferLeadership':
      return transferLeadership(s, event.to, out);
    case 'read':
      return onRead(s, event.id, out);
  }
}

function onTimeout<C>(s: S<C>, timer: string, out: Output<C>): void {
  // A timer of another role can fire after a role change (the runtime raced the cancel): ignore it.
  if (s.role === 'leader') {
    if (timer === HEARTBEAT_TIMER) {
      heartbeat(s, out);
      measureLease(s, out);
      expireReads(s, out);
    } else if (timer === LEASE_TIMER) onLeaseTimeout(s, out);
    else if (timer === CHECK_QUORUM_TIMER) checkQuorum(s, out);
    else if (timer === TRANSFER_TIMER && s.transferee !== null) s.transferee = null;
  } else if (timer === ELECTION_TIMER) {
    campaign(s, out);
  }
}

/** The election timer fired: no leader was heard from for a whole election timeout. */
function campaign<C>(s: S<C>, out: Output<C>): void {
  if (mayCampaign(s)) {
    if (s.settings.preVote) becomePreCandidate(s, out);
    else becomeCandidate(s, false, out);
    return;
  }
  // A learner, a joining node, or a removed one does not campaign; it keeps its timer so that it can once it
  // learns a configuration in which it votes. It no longer holds the silent leader's lease.
  if (s.role !== 'follower') becomeFollower(s, s.term, null, out);
  s.leaderId = null;
  s.votesWithheld = false;
  resetElectionTimer(s, out);
}

/**
 * A voter campaigns. So does a node that its latest configuration leaves out while that configuration is not
 * known to be committed (thesis §4.2.2: "it might still be needed until the C_new entry is committed"; its own
 * vote does not count, since the tally counts only the voters). Else a leader that removed itself and then
 * lost its leadership before C_new committed (a crash, check-quorum) may leave no node able to win: it holds
 * the longest log, and the nodes still in the joint configuration need a majority of the old voters.
 */
function mayCampaign<C>(s: S<C>): boolean {
  const { id } = s.settings;
  const { index, membership } = current(s.configs);
  if (isVoter(membership, id)) return true;
  const previous = s.configs.previous;
  return index > s.commitIndex && previous !== undefined && isVoter(previous.membership, id);
}

/** Contract 7: a leader appends at once and starts replicating; anyone else changes nothing. A leader handing
 *  its leadership over takes no proposals (thesis §3.10). */
function propose<C>(s: S<C>, command: C, out: Output<C>): void {
  if (s.role !== 'leader' || s.transferee !== null) return;
  appendAndReplicate(s, { index: s.log.lastIndex + 1, term: s.term, kind: 'command', command }, out);
}

function appendAndReplicate<C>(s: S<C>, entry: Entry<C>, out: Output<C>): void {
  appendToLog(s, [entry], out);
  broadcastAppend(s, out);
  maybeCommit(s);
}

/** Is this node bound to a live leader, so that it ignores a request to elect another (thesis §4.2.3)? */
function inLease<C>(s: S<C>, m: Message<C>): boolean {
  if (s.leaderId === null && !s.votesWithheld) return false;
  if (m.type === 'PreVote') return true;
  return m.type === 'RequestVote' && !m.transfer && s.settings.checkQuorum;
}

/** The one entry point for messages: drop what is malformed or not ours, settle the term, then the role. */
function receive<C>(s: S<C>, m: Message<C>, out: Output<C>): void {
  const { id } = s.settings;
  if (!isWellFormed(m) || m.to !== id || m.from === id) return;

  if (m.term > s.term) {
    // Thesis §4.2.3 and §9.6: a node that hears from a live leader ignores requests to elect another, so a
    // node that was cut off cannot depose a leader that a majority still follows.
    if (inLease(s, m)) return;
    // §5.1: a higher term makes any node a follower of that term; only a leader's messages name the leader.
    // A pre-vote, or a pre-vote granted in the future term it asked about, changes no term (thesis §9.6).
    const preVoteTerm = m.type === 'PreVote' || (m.type === 'PreVoteResponse' && m.voteGranted);
    if (!preVoteTerm) {
      const leader = isFromLeader(m) ? m.from : null;
      becomeFollower(s, m.term, leader, out, leader ?? campaignOfTransferee(s, m));
    }
  } else if (m.term < s.term) {
    return answerStale(s, m, out);
  } else if (s.leaderId === null && inLease(s, m)) {
    // Lease reads: a node that reached this term without hearing from its leader still withholds its vote.
    return;
  }

  switch (s.role) {
    case 'follower':
      return stepFollower(s, m, out);
    case 'precandidate':
    case 'candidate':
      return stepCandidate(s, m, out);
    case 'leader':
      return stepLeader(s, m, out);
  }
}

/**
 * The node this leader hands its leadership to, when `m` is that node's campaign (thesis §3.10): it is about to
 * lead, though no one knows it yet, so it is the best hint for the reads the leader now fails (contract 16).
 */
function campaignOfTransferee<C>(s: S<C>, m: Message<C>): NodeId | null {
  return m.type === 'RequestVote' && m.transfer && m.from === s.transferee ? m.from : null;
}

function isFromLeader<C>(m: Message<C>): boolean {
  return m.type === 'AppendEntries' || m.type === 'InstallSnapshot' || m.type === 'TimeoutNow';
}

/**
 * §5.1: a stale request is refused with the current term, so that its sender catches up; stale responses
 * answer questions of an earlier term and are dropped. Answering a stale leader matters with pre-vote and
 * check-quorum: a node whose term ran ahead of a healthy leader (it campaigned in vain) would otherwise never
 * catch up, since its vote requests are ignored; the answer makes the leader step down and a new election
 * bring everyone to one term. A stale pre-vote is refused for the same reason (etcd found both).
 */
function answerStale<C>(s: S<C>, m: Message<C>, out: Output<C>): void {
  switch (m.type) {
    case 'AppendEntries':
      return replyAppend(s, m, false, m.prevLogIndex, 0, 0, out);
    case 'InstallSnapshot':
      return replySnapshot(s, m, out);
    case 'RequestVote':
    case 'PreVote':
      return out.send({
        type: m.type === 'RequestVote' ? 'RequestVoteResponse' : 'PreVoteResponse',
        term: s.term,
        from: s.settings.id,
        to: m.from,
        voteGranted: false,
      });
  }
}

function stepFollower<C>(s: S<C>, m: Message<C>, out: Output<C>): void {
  switch (m.type) {
    case 'AppendEntries':
      heardFromLeader(s, m.from, out);
      return onAppendEntries(s, m, out);
    case 'InstallSnapshot':
      heardFromLeader(s, m.from, out);
      return onInstallSnapshot(s, m, out);
    case 'TimeoutNow':
      // Thesis §3.10: the leader hands over: campaign at once, skipping the pre-vote, past leader stickiness.
      if (isVoter(current(s.configs).membership, s.settings.id)) becomeCandidate(s, true, out);
      return;
    case 'RequestVote':
      return onRequestVote(s, m, out);
    case 'PreVote':
      return onPreVote(s, m, out);
  }
}

function heardFromLeader<C>(s: S<C>, leaderId: NodeId, out: Output<C>): void {
  s.leaderId = leaderId;
  if (s.settings.leaseReads) s.votesWithheld = true;
  resetElectionTimer(s, out);
}

function stepCandidate<C>(s: S<C>, m: Message<C>, out: Output<C>): void {
  switch (m.type) {
    case 'AppendEntries':
    case 'InstallSnapshot':
    // Thesis §3.10: a pre-candidate still in the leader's term (its timer fired before the leader's heartbeat
    // came) is handed the leadership all the same: it follows the leader, then campaigns at once. Dropped, the
    // transfer would wait out its timeout, refusing proposals; the leader sends TimeoutNow only once.
    case 'TimeoutNow':
      // §5.2: a leader's message of our term means another candidate won this term.
      becomeFollower(s, m.term, m.from, out);
      return stepFollower(s, m, out);
    case 'RequestVote':
      return onRequestVote(s, m, out);
    case 'PreVote':
      return onPreVote(s, m, out);
    case 'RequestVoteResponse':
      if (s.role === 'candidate') {
        if (tally(s, m.from, m.voteGranted) === 'won') becomeLeader(s, out);
      } else if (m.voteGranted && s.candidacyGrants.length > 0 && tallyLateGrant(s, m.from)) {
        becomeLeaderLate(s, out);
      }
      return;
    case 'PreVoteResponse':
      // A grant echoes the term we would campaign in; a refusal of our own term counts as a refusal.
      if (s.role !== 'precandidate' || (m.voteGranted && m.term !== s.term + 1)) return;
      if (tally(s, m.from, m.voteGranted) === 'won') becomeCandidate(s, false, out);
      return;
  }
}

function stepLeader<C>(s: S<C>, m: Message<C>, out: Output<C>): void {
  // An AppendEntries of our own term from another node cannot come from a correct peer (election safety):
  // it is dropped, like any other message that makes no sense to a leader.
  switch (m.type) {
    case 'AppendEntriesResponse':
    case 'InstallSnapshotResponse': {
      const seen = s.progress.get(m.from);
      if (seen === undefined) return;
      // Check-quorum and ReadIndex: the follower heard from this leader, in the round it names.
      const acked = m.round > seen.ackedRound && m.round <= s.round;
      if (!seen.recentActive || acked) {
        const pr = trackerOf(s).edit(m.from)!;
        pr.recentActive = true;
        if (acked) pr.ackedRound = m.round;
      }
      const matchBefore = seen.match;
      if (m.type === 'AppendEntriesResponse') onAppendResponse(s, m, out);
      else onSnapshotResponse(s, m, out);
      // Thesis §3.10: the transfer's target has just caught up: tell it to campaign.
      const caughtUp = s.progress.get(m.from)?.match === s.log.lastIndex && matchBefore < s.log.lastIndex;
      if (s.transferee === m.from && caughtUp) sendTimeoutNow(s, m.from, out);
      return;
    }
    case 'RequestVote':
      return onRequestVote(s, m, out);
    case 'PreVote':
      return onPreVote(s, m, out);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Role changes.

/**
 * Stepping down does not by itself restart the election timer (Figure 2 restarts it only on an AppendEntries
 * from the current leader, on granting a vote, and on starting an election): otherwise candidates whose logs
 * are too stale to win would keep pushing back the timers of the few nodes that could, and elections could
 * livelock (found by the lab suite, seeds 293 and 27). A leader has no election timer armed, so it gets one.
 */
function becomeFollower<C>(
  s: S<C>,
  term: number,
  leaderId: NodeId | null,
  out: Output<C>,
  likelyLeader: NodeId | null = leaderId,
): void {
  invariant(term >= s.term, () => `term would go back from ${s.term} to ${term}`);
  if (term > s.term) {
    s.term = term;
    s.votedFor = null;
  }
  s.leaderId = leaderId;
  if (s.role === 'leader') {
    out.cancelTimer(HEARTBEAT_TIMER);
    if (s.settings.checkQuorum) out.cancelTimer(CHECK_QUORUM_TIMER);
    if (s.transferee !== null) out.cancelTimer(TRANSFER_TIMER);
    resetElectionTimer(s, out);
    failReads(s, out, likelyLeader);
    endLease(s, false, out);
  }
  s.role = 'follower';
  s.votesGranted = [];
  s.votesRefused = [];
  forgetCandidacy(s);
  s.progress = Tracker.EMPTY;
  s.transferee = null;
  s.round = 0;
}

/** Thesis §9.6: ask whether an election could be won, without raising the term or persisting anything. */
function becomePreCandidate<C>(s: S<C>, out: Output<C>): void {
  invariant(s.role !== 'leader', 'a leader does not start elections');
  // A candidacy in this term that timed out stays open to the grants still on their way (becomeLeaderLate);
  // a pre-candidate timing out again keeps it too, since its term and its vote have not changed.
  if (s.role === 'candidate') s.candidacyGrants = s.votesGranted;
  s.role = 'precandidate';
  s.leaderId = null;
  s.votesWithheld = false;
  s.votesGranted = [];
  s.votesRefused = [];
  resetElectionTimer(s, out);
  if (tally(s, s.settings.id, true) === 'won') return becomeCandidate(s, false, out);
  requestVotes(s, 'PreVote', s.term + 1, false, out);
}

/**
 * §5.2: start an election: new term, vote for self (persisted before any RequestVote leaves), ask all voters.
 * `transfer`: asked for by a leadership transfer, so the voters' leader stickiness does not apply.
 */
function becomeCandidate<C>(s: S<C>, transfer: boolean, out: Output<C>): void {
  invariant(s.role !== 'leader', 'a leader does not start elections');
  s.role = 'candidate';
  s.term += 1;
  s.votedFor = s.settings.id;
  s.leaderId = null;
  s.votesWithheld = false;
  s.votesGranted = [];
  s.votesRefused = [];
  forgetCandidacy(s);
  resetElectionTimer(s, out);
  if (tally(s, s.settings.id, true) === 'won') return becomeLeader(s, out);
  requestVotes(s, 'RequestVote', s.term, transfer, out);
}

function requestVotes<C>(
  s: S<C>,
  type: 'RequestVote' | 'PreVote',
  term: number,
  transfer: boolean,
  out: Output<C>,
): void {
  const { membership } = current(s.configs);
  const voters = new Set([...membership.voters, ...(membership.outgoing ?? [])]);
  voters.delete(s.settings.id);
  const position = { lastLogIndex: s.log.lastIndex, lastLogTerm: s.log.lastTerm };
  for (const to of voters) {
    const base = { term, from: s.settings.id, to, ...position };
    out.send(type === 'RequestVote' ? { type, ...base, transfer } : { type, ...base });
  }
}

/**
 * A pre-candidate whose candidacy in this term timed out, and whose votes then arrived all the same: it leads
 * this term. Under long delays (the lab's long reordering holds replies for up to 2.2 s, several election
 * timeouts) a majority's grants can all be on their way when the timer fires; ignoring them, the node must win
 * a pre-vote and then a vote, each within one election timeout, and may not for many rounds. Safe (§5.2, §5.4.1):
 * each voter grants one vote per term, so no one else can lead this term; this node voted for itself in it and
 * has changed neither term nor vote since; and its log is the one the voters judged, since anything that could
 * change it (a leader's append or snapshot, a higher term) would have made it a follower and ended the candidacy.
 */
function becomeLeaderLate<C>(s: S<C>, out: Output<C>): void {
  invariant(
    s.role === 'precandidate' && s.votedFor === s.settings.id,
    'a late vote elects its own candidacy',
  );
  s.role = 'candidate';
  becomeLeader(s, out);
}

/** The node is no longer a (pre-)candidate of the term its candidacy was in: late grants count for nothing. */
function forgetCandidacy<C>(s: S<C>): void {
  if (s.candidacyGrants.length > 0) s.candidacyGrants = [];
}

/** §5.2, §8: a new leader asserts itself at once and appends a no-op of its term to commit what it has. */
function becomeLeader<C>(s: S<C>, out: Output<C>): void {
  invariant(s.role === 'candidate', 'only a candidate becomes leader');
  s.role = 'leader';
  s.leaderId = s.settings.id;
  s.votesGranted = [];
  s.votesRefused = [];
  forgetCandidacy(s);
  s.progress = Tracker.EMPTY;
  s.transferee = null;
  s.round = 0;
  s.pendingReads = [];
  s.leaseRound = 0;
  s.leaseForfeited = false;
  syncProgress(s);
  out.cancelTimer(ELECTION_TIMER);
  out.setTimer(HEARTBEAT_TIMER, s.settings.heartbeatInterval);
  if (s.settings.checkQuorum) out.setTimer(CHECK_QUORUM_TIMER, s.settings.electionTimeout[0]);
  appendAndReplicate(s, { index: s.log.lastIndex + 1, term: s.term, kind: 'noop' }, out);
}

// ---------------------------------------------------------------------------------------------------------
// The leader's own duties.

/**
 * Thesis §6.2: a leader that has not heard from a majority within an election timeout steps down, so that a
 * leader cut off in a minority stops taking requests it can never commit (and stops answering reads).
 */
function checkQuorum<C>(s: S<C>, out: Output<C>): void {
  const { id } = s.settings;
  const active = jointCommitted(current(s.configs).membership, (voter) =>
    voter === id || s.progress.get(voter)?.recentActive ? 1 : 0,
  );
  if (active === 0) return becomeFollower(s, s.term, null, out);
  const tracker = trackerOf(s);
  for (const peer of tracker.ids()) tracker.edit(peer)!.recentActive = false;
  out.setTimer(CHECK_QUORUM_TIMER, s.settings.electionTimeout[0]);
}

/**
 * Thesis §3.10 (contract 15): stop taking proposals, bring `to` up to date, then tell it to campaign at once.
 * If no new leader shows up within an election timeout, take proposals again.
 */
function transferLeadership<C>(s: S<C>, to: NodeId, out: Output<C>): void {
  if (s.role !== 'leader' || to === s.settings.id || s.transferee === to) return;
  if (!isVoter(current(s.configs).membership, to) || s.progress.get(to) === undefined) return;
  s.transferee = to;
  out.setTimer(TRANSFER_TIMER, s.settings.electionTimeout[0]);
  endLease(s, true, out);
  const pr = trackerOf(s).edit(to)!;
  if (pr.match === s.log.lastIndex) return sendTimeoutNow(s, to, out);
  // Catch the target up now rather than at the next heartbeat: appends in flight may have been lost, so send
  // again from its match (a probe; a snapshot on its way is left to arrive).
  if (pr.state !== 'snapshot') becomeProbe(pr, pr.match + 1);
  sendAppend(s, to, out);
}

function sendTimeoutNow<C>(s: S<C>, to: NodeId, out: Output<C>): void {
  out.send({ type: 'TimeoutNow', term: s.term, from: s.settings.id, to });
}

/**
 * §6 (contract 14): one change at a time, always through the joint configuration: new voters with the old ones
 * outgoing. The leader leaves the joint configuration by itself once it is committed (`afterLeaderStep`).
 */
function changeMembership<C>(
  s: S<C>,
  voters: readonly NodeId[],
  learners: readonly NodeId[],
  out: Output<C>,
): void {
  if (s.role !== 'leader' || s.transferee !== null) return;
  const { index, membership } = current(s.configs);
  if (index > s.commitIndex || whyChangeInvalid(membership, voters, learners) !== undefined) return;
  const joint = jointOf(membership, voters, learners);
  appendAndReplicate(s, { index: s.log.lastIndex + 1, term: s.term, kind: 'config', membership: joint }, out);
}

/**
 * After every event on a leader: leave a committed joint configuration (§6), step down once a configuration
 * without this node is committed (§6: "the leader steps down once C_new is committed"), answer the reads
 * that are confirmed.
 */
function afterLeaderStep<C>(s: S<C>, out: Output<C>): void {
  const { index, membership } = current(s.configs);
  if (index <= s.commitIndex) {
    if (membership.outgoing !== undefined) {
      const entry: Entry<C> = {
        index: s.log.lastIndex + 1,
        term: s.term,
        kind: 'config',
        membership: finalOf(membership),
      };
      appendAndReplicate(s, entry, out);
      return afterLeaderStep(s, out);
    }
    if (!isVoter(membership, s.settings.id)) return becomeFollower(s, s.term, null, out);
  }
  releaseReads(s, out);
}

// ---------------------------------------------------------------------------------------------------------

/** What holds after every transition; a failure is a bug in pureraft, and stopping beats diverging. */
function checkInvariants<C>(s: RaftState<C>): void {
  const { id } = s.settings;
  invariant(s.appliedIndex === s.commitIndex, 'every committed entry is handed out in the same transition');
  invariant(s.log.base.index <= s.commitIndex, 'the snapshot covers only committed entries');
  invariant(s.log.lastTerm <= s.term, () => `log term ${s.log.lastTerm} is past the current term ${s.term}`);
  invariant(s.role !== 'candidate' || s.votedFor === id, 'a candidate votes for itself');
  invariant(
    s.role !== 'leader' || (s.leaderId === id && s.votedFor === id),
    'a leader was elected by its own vote',
  );
  invariant(
    s.role === 'leader' ||
      (s.transferee === null && s.pendingReads.length === 0 && s.leaseRound === 0 && !s.leaseForfeited),
    'only a leader transfers, reads or holds a lease',
  );
  invariant(s.leaseRound <= s.round, 'a lease is measured from a round that started');
  for (const pr of s.progress.values()) {
    invariant(
      pr.match < pr.next && pr.next <= s.log.lastIndex + 1,
      () => `progress out of bounds: ${JSON.stringify(pr)}`,
    );
  }
}

/** Contract 4: committed entries go to the service in order, each once per incarnation. */
function collectApplies<C>(s: S<C>, out: Output<C>): void {
  invariant(
    s.commitIndex <= s.log.lastIndex,
    () => `commit ${s.commitIndex} past last index ${s.log.lastIndex}`,
  );
  if (s.commitIndex <= s.appliedIndex) return;
  out.applies = s.log.slice(s.appliedIndex + 1, s.commitIndex);
  s.appliedIndex = s.commitIndex;
}
