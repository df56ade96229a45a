/**
 * One log line for each change of this node's role, term or known leader, with the event that caused it: what
 * an operator reads first when a cluster elects more often than it should (which node's timer fired first, who
 * refused it, whether a leader stepped down for want of a majority). Steady operation writes nothing.
 */
import {
  CHECK_QUORUM_TIMER,
  type CoreRole,
  ELECTION_TIMER,
  type Event,
  type NodeId,
  type RaftState,
} from '../../core/index.js';

interface Seen {
  readonly role: CoreRole;
  readonly term: number;
  readonly leaderId: NodeId | null;
}

export class RoleLog {
  #seen: Seen | undefined;

  constructor(private readonly write: (line: string) => void) {}

  /** Called with every transition (`event` undefined for the node's start). */
  observe<C>(event: Event<C> | undefined, state: RaftState<C>): void {
    const seen = this.#seen;
    const { role, term, leaderId } = state;
    if (seen !== undefined && seen.role === role && seen.term === term && seen.leaderId === leaderId) return;
    this.#seen = { role, term, leaderId };
    if (seen === undefined || event === undefined) return;
    const line = describe(seen, state, event);
    if (line !== undefined) this.write(line);
  }
}

function describe<C>(before: Seen, after: RaftState<C>, event: Event<C>): string | undefined {
  const { role, term, leaderId } = after;
  const cause = causeOf(event);
  if (role !== before.role) {
    switch (role) {
      case 'precandidate':
        return `pre-vote for term ${term + 1} (${cause})`;
      case 'candidate':
        return `campaigning in term ${term} (${cause})`;
      case 'leader':
        return `became leader in term ${term}`;
      case 'follower':
        if (before.role === 'leader') {
          const why =
            event.type === 'timeout' && event.timer === CHECK_QUORUM_TIMER
              ? 'no majority heard within an election timeout (check-quorum)'
              : cause;
          return `stepped down in term ${term}: ${why}`;
        }
        return leaderId === null
          ? `back to follower in term ${term} (${cause})`
          : `following ${leaderId} in term ${term}`;
    }
  }
  if (leaderId !== null && leaderId !== before.leaderId && leaderId !== after.settings.id)
    return `following ${leaderId} in term ${term}`;
  if (term !== before.term)
    return `term ${term}${after.votedFor === null ? '' : `: voted for ${after.votedFor}`} (${cause})`;
  return undefined;
}

function causeOf<C>(event: Event<C>): string {
  if (event.type === 'timeout')
    return event.timer === ELECTION_TIMER
      ? 'no leader heard for an election timeout'
      : `the ${event.timer} timer`;
  if (event.type === 'receive')
    return `${event.message.type} from ${event.message.from} in term ${event.message.term}`;
  return `${event.type}`;
}
