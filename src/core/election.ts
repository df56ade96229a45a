/**
 * Elections (§5.2, §5.4.1) and pre-votes (thesis §9.6), from the voter's side and the tally. Role changes are
 * raft.ts's: the tally only says whether an election is won.
 */
import type { StateDraft } from './draft.js';
import { current, isVoter, jointVoteResult } from './membership.js';
import type { Output } from './output.js';
import type { VoteResult } from './quorum.js';
import { randomIn } from './rng.js';
import type { NodeId, PreVote, RequestVote } from './types.js';

type S<C> = StateDraft<C>;

export const ELECTION_TIMER = 'election';

export function resetElectionTimer<C>(s: S<C>, out: Output<C>): void {
  const [min, max] = s.settings.electionTimeout;
  const [delay, rng] = randomIn(s.rng, min, max);
  s.rng = rng;
  out.setTimer(ELECTION_TIMER, delay);
}

/** §5.2, §5.4.1: one vote per term, first come first served, and only for a log at least as up-to-date. */
export function onRequestVote<C>(s: S<C>, m: RequestVote, out: Output<C>): void {
  const free = s.votedFor === null || s.votedFor === m.from;
  const granted = free && s.log.isUpToDate(m.lastLogIndex, m.lastLogTerm);
  if (granted) {
    s.votedFor = m.from;
    // Figure 2: a follower that grants a vote restarts its election timeout.
    resetElectionTimer(s, out);
  }
  out.send({
    type: 'RequestVoteResponse',
    term: s.term,
    from: s.settings.id,
    to: m.from,
    voteGranted: granted,
  });
}

/**
 * Thesis §9.6: would this node vote for the sender in the term it names? The same election restriction, but
 * nothing changes here: no term, no vote, no timer. A pre-vote for a later term is granted unless this node
 * hears from a live leader (checked before this is called); one for this term only as a real vote would be.
 * A grant echoes the pre-vote's term, a refusal carries this node's own term, so a sender that fell behind
 * catches up.
 */
export function onPreVote<C>(s: S<C>, m: PreVote, out: Output<C>): void {
  const canVote = m.term > s.term || s.votedFor === m.from || (s.votedFor === null && s.leaderId === null);
  const granted = canVote && s.log.isUpToDate(m.lastLogIndex, m.lastLogTerm);
  out.send({
    type: 'PreVoteResponse',
    term: granted ? m.term : s.term,
    from: s.settings.id,
    to: m.from,
    voteGranted: granted,
  });
}

/** Counts one answer (the first from each voter) and says where the election stands, in joint majorities (§6). */
export function tally<C>(s: S<C>, from: NodeId, granted: boolean): VoteResult {
  const { membership } = current(s.configs);
  const counted = s.votesGranted.includes(from) || s.votesRefused.includes(from);
  if (!counted && isVoter(membership, from)) {
    if (granted) s.votesGranted.push(from);
    else s.votesRefused.push(from);
  }
  return jointVoteResult(membership, s.votesGranted, s.votesRefused);
}

/**
 * Counts a grant of this term's vote that reached a pre-candidate after its candidacy in this term timed out
 * (`candidacyGrants`); says whether the grants of that candidacy now make a majority.
 */
export function tallyLateGrant<C>(s: S<C>, from: NodeId): boolean {
  const { membership } = current(s.configs);
  if (s.candidacyGrants.includes(from) || !isVoter(membership, from)) return false;
  s.candidacyGrants.push(from);
  return jointVoteResult(membership, s.candidacyGrants, []) === 'won';
}
