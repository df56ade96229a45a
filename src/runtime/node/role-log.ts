/**
 * One log line for each change of this node's role, term, vote or leader, with the event that caused it: what
 * an operator reads first when a cluster elects more often than it should (which node's timer fired first, whom
 * it voted for, whether a leader stepped down for want of a majority, for a higher term, for a transfer or
 * because a configuration removed it). Votes refused and pre-vote rounds that fail are not logged: a node cut
 * off from the others would write one every election timeout. Steady operation writes nothing.
 */
import {
  CHECK_QUORUM_TIMER,
  type CoreRole,
  ELECTION_TIMER,
  type Event,
  isLearner,
  isVoter,
  type NodeId,
  type RaftState,
} from '../../core/index.js';

interface Seen {
  readonly role: CoreRole;
  readonly term: number;
  readonly votedFor: NodeId | null;
  readonly leaderId: NodeId | null;
  /** Leader: the target of its transfer in progress. */
  readonly transferee: NodeId | null;
}

export class RoleLog {
  #seen: Seen | undefined;
  /** The leader and term of the last `following` line, so that a leader forgotten and heard again is not news. */
  #followed: { readonly leader: NodeId; readonly term: number } | undefined;

  /** `write` gets each line; what it throws is dropped: a log line never stops the node. */
  constructor(private readonly write: (line: string) => void) {}

  /** Called with every transition, and with `event` undefined when the core starts (or starts again). */
  observe<C>(event: Event<C> | undefined, state: RaftState<C>): void {
    const seen = this.#seen;
    const { role, term, votedFor, leaderId, transferee } = state;
    const same =
      seen !== undefined &&
      seen.role === role &&
      seen.term === term &&
      seen.votedFor === votedFor &&
      seen.leaderId === leaderId &&
      seen.transferee === transferee;
    if (same && event !== undefined) return;
    this.#seen = { role, term, votedFor, leaderId, transferee };
    // A start (or a start again) knows no leader yet: the first one heard is news, even the one heard before.
    if (event === undefined) this.#followed = undefined;
    const line =
      event === undefined
        ? started(seen !== undefined, state)
        : describe(seen ?? this.#seen, state, event, this.#newLeader(state));
    if (leaderId !== null && leaderId !== state.settings.id) this.#followed = { leader: leaderId, term };
    if (line === undefined) return;
    try {
      this.write(line);
    } catch {
      // The log is for people; the node goes on without it.
    }
  }

  /** The leader this node now follows, if that is news. */
  #newLeader<C>(state: RaftState<C>): NodeId | undefined {
    const { leaderId, term } = state;
    if (leaderId === null || leaderId === state.settings.id) return undefined;
    const followed = this.#followed;
    return followed?.leader === leaderId && followed.term === term ? undefined : leaderId;
  }
}

function started<C>(again: boolean, state: RaftState<C>): string {
  const vote = state.votedFor === null ? '' : `, voted for ${state.votedFor}`;
  const how = again ? 'started again from its durable state' : 'started';
  return `${how} in term ${state.term}${vote}${standing(state)}`;
}

function describe<C>(
  before: Seen,
  after: RaftState<C>,
  event: Event<C>,
  newLeader: NodeId | undefined,
): string | undefined {
  const { role, term } = after;
  const cause = causeOf(event);
  const voted =
    after.votedFor !== null && (after.votedFor !== before.votedFor || term !== before.term)
      ? `: voted for ${after.votedFor}`
      : '';
  if (role === 'leader' && before.role !== 'leader') return `became leader in term ${term}`;
  if (role === 'precandidate' && before.role !== 'precandidate')
    return `pre-vote for term ${term + 1} (${electionCause(before, event, cause)})`;
  if (role === 'candidate' && (before.role !== 'candidate' || term !== before.term))
    return `campaigning in term ${term} (${electionCause(before, event, cause)})`;
  if (role === 'follower' && before.role === 'leader') {
    const then =
      newLeader !== undefined
        ? `; following ${newLeader} in term ${term}`
        : term === before.term
          ? ''
          : `; now in term ${term}${voted}`;
    return `stepped down as leader of term ${before.term}: ${stepDownCause(before, after, event, cause)}${then}`;
  }
  if (role === 'leader' && before.transferee !== after.transferee) {
    if (after.transferee !== null) return `transferring leadership to ${after.transferee}`;
    return `leadership transfer to ${before.transferee} ended without success (${cause})`;
  }
  if (newLeader !== undefined) return `following ${newLeader} in term ${term}${standing(after)}`;
  if (role !== before.role) return `back to follower in term ${term}${voted} (${cause})`;
  if (term !== before.term || voted !== '') return `term ${term}${voted} (${cause})`;
  return undefined;
}

/** Why an election (or pre-vote) started. */
function electionCause<C>(before: Seen, event: Event<C>, cause: string): string {
  if (event.type === 'timeout' && event.timer === ELECTION_TIMER && before.role !== 'follower')
    return 'the last election found no majority within an election timeout';
  if (event.type === 'receive' && event.message.type === 'TimeoutNow')
    return `leadership transfer: TimeoutNow from ${event.message.from}`;
  if (event.type === 'receive' && event.message.type === 'PreVoteResponse')
    return `pre-vote won, the last grant from ${event.message.from}`;
  return cause;
}

function stepDownCause<C>(before: Seen, after: RaftState<C>, event: Event<C>, cause: string): string {
  if (event.type === 'timeout' && event.timer === CHECK_QUORUM_TIMER)
    return 'no majority heard within an election timeout (check-quorum)';
  // Thesis §4.2.2: a leader that the configuration in force leaves out steps down once that configuration is
  // committed. One appended and not committed yet is no reason: such a leader was deposed by something else.
  const { current } = after.configs;
  if (!isVoter(current.membership, after.settings.id) && current.index <= after.commitIndex)
    return `the configuration that removes it is committed (${cause})`;
  // The target asking for votes has not won yet: the transfer is why this leader stepped down, not its outcome.
  if (before.transferee !== null && event.type === 'receive' && event.message.from === before.transferee)
    return `for the transfer to ${before.transferee} (${cause})`;
  return cause;
}

/** How the node stands in the configuration in force, where it is not a voter. */
function standing<C>(state: RaftState<C>): string {
  const { membership } = state.configs.current;
  const id = state.settings.id;
  if (isVoter(membership, id)) return '';
  return isLearner(membership, id) ? ' (a learner)' : ' (not in the configuration)';
}

function causeOf<C>(event: Event<C>): string {
  if (event.type === 'timeout')
    return event.timer === ELECTION_TIMER
      ? 'no leader heard for an election timeout'
      : `the ${event.timer} timer`;
  if (event.type === 'receive') {
    const { message } = event;
    const transfer = message.type === 'RequestVote' && message.transfer ? ', for a leadership transfer' : '';
    return `${message.type} from ${message.from} in term ${message.term}${transfer}`;
  }
  if (event.type === 'transferLeadership') return `asked to transfer leadership to ${event.to}`;
  return event.type;
}
