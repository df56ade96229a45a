/**
 * Raft (extended paper, Figure 2) as a pure reducer. `step` settles the term first (§5.1), then hands the
 * event to the function of the node's role. Roles change only in `becomeFollower`, `becomeCandidate` and
 * `becomeLeader`, each of which resets exactly the state its role owns.
 */
import { produce } from 'immer';
import type { StateDraft } from './draft.js';
import { invariant } from './invariant.js';
import { RaftLog } from './log.js';
import { Output } from './output.js';
import { initialProgress } from './progress.js';
import { voteResult } from './quorum.js';
import {
  broadcastAppend,
  HEARTBEAT_TIMER,
  heartbeat,
  maybeCommit,
  onAppendResponse,
  peersOf,
} from './replication.js';
import { randomIn } from './rng.js';
import { settle } from './settings.js';
import type {
  AppendEntries,
  Config,
  Durable,
  Effect,
  Entry,
  Event,
  Message,
  NodeId,
  RaftState,
  RequestVote,
  RequestVoteResponse,
  Status,
} from './types.js';
import { isWellFormed } from './wellformed.js';

export type Transition<C> = readonly [RaftState<C>, readonly Effect<C>[]];
type S<C> = StateDraft<C>;

export const ELECTION_TIMER = 'election';

/** Checks what storage handed back: it is the embedder's input, so a bad one is a clear error, not a repair. */
function restoreLog<C>(durable: Durable<C>): RaftLog<C> {
  const { hardState, entries } = durable;
  if (!Number.isSafeInteger(hardState.term) || hardState.term < 0)
    throw new RangeError(`durable term ${hardState.term} is invalid`);
  let lastTerm = 0;
  entries.forEach((entry, position) => {
    if (entry.index !== position + 1) {
      throw new RangeError(
        `durable entries must be contiguous from index 1: found ${entry.index} at position ${position}`,
      );
    }
    if (entry.term < lastTerm || entry.term > hardState.term) {
      throw new RangeError(
        `durable entry ${entry.index} has term ${entry.term}, out of order or past term ${hardState.term}`,
      );
    }
    lastTerm = entry.term;
  });
  return RaftLog.from(entries);
}

/** A node as it starts (or restarts from `durable`): a follower with its election timer armed. */
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
    commitIndex: 0,
    appliedIndex: 0,
    rng: Math.floor(config.seed) >>> 0,
    votesGranted: [],
    votesRefused: [],
    progress: {},
  };
  // Contract 5: a crash loses all timers, so init arms what the node needs.
  return transition(state, resetElectionTimer);
}

/** Feeds one event to the node; returns the next state and the effects to run, in order. */
export function step<C>(state: RaftState<C>, event: Event<C>): Transition<C> {
  return transition(state, (s, out) => dispatch(s, event, out));
}

function transition<C>(state: RaftState<C>, handle: (s: S<C>, out: Output<C>) => void): Transition<C> {
  const out = new Output<C>();
  const next = produce(state, (draft) => {
    const s = draft as unknown as S<C>;
    handle(s, out);
    collectApplies(s, out);
  });
  checkInvariants(next);
  return [next, out.effects(state, next)];
}

export function status(state: RaftState<unknown>): Status {
  return {
    id: state.settings.id,
    role: state.role,
    term: state.term,
    votedFor: state.votedFor,
    leaderId: state.leaderId,
    commitIndex: state.commitIndex,
    lastIndex: state.log.lastIndex,
    lastTerm: state.log.lastTerm,
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
  }
}

function onTimeout<C>(s: S<C>, timer: string, out: Output<C>): void {
  // A timer of another role can fire after a role change (the runtime raced the cancel): ignore it.
  if (timer === ELECTION_TIMER && s.role !== 'leader') becomeCandidate(s, out);
  else if (timer === HEARTBEAT_TIMER && s.role === 'leader') heartbeat(s, out);
}

/** Contract 7: a leader appends at once and starts replicating; anyone else changes nothing. */
function propose<C>(s: S<C>, command: C, out: Output<C>): void {
  if (s.role !== 'leader') return;
  appendToLog(s, [{ index: s.log.lastIndex + 1, term: s.term, kind: 'command', command }], out);
  broadcastAppend(s, out);
  maybeCommit(s);
}

/** The one entry point for messages: drop what is malformed or not ours, settle the term, then the role. */
function receive<C>(s: S<C>, m: Message<C>, out: Output<C>): void {
  const { id, voters } = s.settings;
  if (!isWellFormed(m) || m.to !== id || m.from === id || !voters.includes(m.from)) return;

  if (m.term > s.term) {
    // §5.1: a higher term makes any node a follower of that term. Only an AppendEntries names a leader.
    becomeFollower(s, m.term, m.type === 'AppendEntries' ? m.from : null, out);
  } else if (m.term < s.term) {
    // §5.1: a stale request is rejected with the current term, so that its sender catches up; stale
    // responses answer questions of an earlier term and are dropped.
    if (m.type === 'AppendEntries') replyAppend(s, m, false, m.prevLogIndex, 0, 0, out);
    else if (m.type === 'RequestVote') replyVote(s, m, false, out);
    return;
  }

  switch (s.role) {
    case 'follower':
      return stepFollower(s, m, out);
    case 'candidate':
      return stepCandidate(s, m, out);
    case 'leader':
      return stepLeader(s, m, out);
  }
}

function stepFollower<C>(s: S<C>, m: Message<C>, out: Output<C>): void {
  if (m.type === 'AppendEntries') {
    s.leaderId = m.from;
    resetElectionTimer(s, out);
    onAppendEntries(s, m, out);
  } else if (m.type === 'RequestVote') {
    onRequestVote(s, m, out);
  }
}

function stepCandidate<C>(s: S<C>, m: Message<C>, out: Output<C>): void {
  switch (m.type) {
    case 'AppendEntries':
      // §5.2: an AppendEntries of our term means another candidate won this term.
      becomeFollower(s, m.term, m.from, out);
      return stepFollower(s, m, out);
    case 'RequestVote':
      return onRequestVote(s, m, out);
    case 'RequestVoteResponse':
      return onVote(s, m, out);
  }
}

function stepLeader<C>(s: S<C>, m: Message<C>, out: Output<C>): void {
  // An AppendEntries of our own term from another node cannot come from a correct peer (election safety):
  // it is dropped, like any other message that makes no sense to a leader.
  if (m.type === 'AppendEntriesResponse') onAppendResponse(s, m, out);
  else if (m.type === 'RequestVote') onRequestVote(s, m, out);
}

// ---------------------------------------------------------------------------------------------------------
// Role changes.

/**
 * Stepping down does not by itself restart the election timer (Figure 2 restarts it only on an AppendEntries
 * from the current leader, on granting a vote, and on starting an election): otherwise candidates whose logs
 * are too stale to win would keep pushing back the timers of the few nodes that could, and elections could
 * livelock (found by the lab suite, seeds 293 and 27). A leader has no election timer armed, so it gets one.
 */
function becomeFollower<C>(s: S<C>, term: number, leaderId: NodeId | null, out: Output<C>): void {
  invariant(term >= s.term, () => `term would go back from ${s.term} to ${term}`);
  if (s.role === 'leader') {
    out.cancelTimer(HEARTBEAT_TIMER);
    resetElectionTimer(s, out);
  }
  if (term > s.term) {
    s.term = term;
    s.votedFor = null;
  }
  s.role = 'follower';
  s.leaderId = leaderId;
  s.votesGranted = [];
  s.votesRefused = [];
  s.progress = {};
}

/** §5.2: start an election: new term, vote for self (persisted before any RequestVote leaves), ask all. */
function becomeCandidate<C>(s: S<C>, out: Output<C>): void {
  invariant(s.role !== 'leader', 'a leader does not start elections');
  s.role = 'candidate';
  s.term += 1;
  s.votedFor = s.settings.id;
  s.leaderId = null;
  s.votesGranted = [s.settings.id];
  s.votesRefused = [];
  s.progress = {};
  resetElectionTimer(s, out);
  if (voteResult(s.settings.voters, s.votesGranted, s.votesRefused) === 'won') return becomeLeader(s, out);
  for (const peer of peersOf(s.settings)) {
    out.send({
      type: 'RequestVote',
      term: s.term,
      from: s.settings.id,
      to: peer,
      lastLogIndex: s.log.lastIndex,
      lastLogTerm: s.log.lastTerm,
    });
  }
}

/** §5.2, §8: a new leader asserts itself at once and appends a no-op of its term to commit what it has. */
function becomeLeader<C>(s: S<C>, out: Output<C>): void {
  invariant(s.role === 'candidate', 'only a candidate becomes leader');
  s.role = 'leader';
  s.leaderId = s.settings.id;
  s.votesGranted = [];
  s.votesRefused = [];
  s.progress = Object.fromEntries(
    peersOf(s.settings).map((peer) => [peer, initialProgress(s.log.lastIndex)]),
  );
  out.cancelTimer(ELECTION_TIMER);
  out.setTimer(HEARTBEAT_TIMER, s.settings.heartbeatInterval);
  appendToLog(s, [{ index: s.log.lastIndex + 1, term: s.term, kind: 'noop' }], out);
  broadcastAppend(s, out);
  maybeCommit(s);
}

// ---------------------------------------------------------------------------------------------------------
// Elections.

function resetElectionTimer<C>(s: S<C>, out: Output<C>): void {
  const [min, max] = s.settings.electionTimeout;
  const [delay, rng] = randomIn(s.rng, min, max);
  s.rng = rng;
  out.setTimer(ELECTION_TIMER, delay);
}

/** §5.2, §5.4.1: one vote per term, first come first served, and only for a log at least as up-to-date. */
function onRequestVote<C>(s: S<C>, m: RequestVote, out: Output<C>): void {
  const free = s.votedFor === null || s.votedFor === m.from;
  const granted = free && s.log.isUpToDate(m.lastLogIndex, m.lastLogTerm);
  if (granted) {
    s.votedFor = m.from;
    // Figure 2: a follower that grants a vote restarts its election timeout.
    resetElectionTimer(s, out);
  }
  replyVote(s, m, granted, out);
}

function replyVote<C>(s: S<C>, m: RequestVote, voteGranted: boolean, out: Output<C>): void {
  out.send({ type: 'RequestVoteResponse', term: s.term, from: s.settings.id, to: m.from, voteGranted });
}

function onVote<C>(s: S<C>, m: RequestVoteResponse, out: Output<C>): void {
  if (s.votesGranted.includes(m.from) || s.votesRefused.includes(m.from)) return;
  if (m.voteGranted) s.votesGranted.push(m.from);
  else s.votesRefused.push(m.from);
  // A lost election just waits for the next timeout, with a new random delay (§5.2).
  if (voteResult(s.settings.voters, s.votesGranted, s.votesRefused) === 'won') becomeLeader(s, out);
}

// ---------------------------------------------------------------------------------------------------------
// The follower's side of replication.

function appendToLog<C>(s: S<C>, entries: readonly Entry<C>[], out: Output<C>): void {
  s.log = s.log.append(entries);
  out.appendedEntries(entries);
}

/**
 * §5.3 (Figure 2, AppendEntries receiver): check that the log matches at prevLogIndex, delete a conflicting
 * suffix, append what is new, and learn the commit index. Entries that already match are never truncated,
 * so a stale or duplicated AppendEntries cannot undo newer ones.
 */
function onAppendEntries<C>(s: S<C>, m: AppendEntries<C>, out: Output<C>): void {
  if (m.prevLogIndex > s.log.lastIndex) {
    return replyAppend(s, m, false, m.prevLogIndex, 0, s.log.lastIndex + 1, out);
  }
  const localTerm = s.log.term(m.prevLogIndex);
  invariant(localTerm !== undefined, 'every index up to lastIndex has a term until snapshots exist');
  if (localTerm !== m.prevLogTerm) {
    // Fast backup: name the conflicting term and where it starts, so the leader can skip all of it.
    return replyAppend(s, m, false, m.prevLogIndex, localTerm, s.log.firstIndexOfTerm(localTerm)!, out);
  }

  const firstNew = m.entries.findIndex((entry) => s.log.term(entry.index) !== entry.term);
  if (firstNew !== -1) {
    const from = m.entries[firstNew]!.index;
    if (from <= s.log.lastIndex) {
      // A correct leader never contradicts a committed entry (Leader Completeness): refuse to destroy one.
      if (from <= s.commitIndex) return;
      s.log = s.log.truncateFrom(from);
      out.truncated(from);
    }
    appendToLog(s, m.entries.slice(firstNew), out);
  }

  const lastNew = m.prevLogIndex + m.entries.length;
  // Figure 2: commitIndex = min(leaderCommit, index of last new entry); it never moves back.
  const commit = Math.min(m.leaderCommit, lastNew);
  if (commit > s.commitIndex) s.commitIndex = commit;
  replyAppend(s, m, true, lastNew, 0, 0, out);
}

function replyAppend<C>(
  s: S<C>,
  m: AppendEntries<C>,
  success: boolean,
  index: number,
  conflictTerm: number,
  conflictIndex: number,
  out: Output<C>,
): void {
  out.send({
    type: 'AppendEntriesResponse',
    term: s.term,
    from: s.settings.id,
    to: m.from,
    success,
    index,
    conflictTerm,
    conflictIndex,
  });
}

/** What holds after every transition; a failure is a bug in pureraft, and stopping beats diverging. */
function checkInvariants<C>(s: RaftState<C>): void {
  const { id } = s.settings;
  invariant(s.appliedIndex === s.commitIndex, 'every committed entry is handed out in the same transition');
  invariant(s.log.lastTerm <= s.term, () => `log term ${s.log.lastTerm} is past the current term ${s.term}`);
  invariant(s.role !== 'candidate' || s.votedFor === id, 'a candidate votes for itself');
  invariant(
    s.role !== 'leader' || (s.leaderId === id && s.votedFor === id),
    'a leader was elected by its own vote',
  );
  for (const pr of Object.values(s.progress)) {
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
