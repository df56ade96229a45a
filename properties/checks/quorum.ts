/** Majorities under a configuration (§6): of the voters, and during a joint change of the outgoing voters too. */
import type { Membership, NodeId } from '../../src/core/index.js';

function majorityOf(ids: readonly NodeId[], members: ReadonlySet<NodeId>): boolean {
  return ids.filter((id) => members.has(id)).length * 2 > ids.length;
}

/** Do `members` make a majority (a joint one during a change) of `m`? */
export function isMajority(m: Membership, members: ReadonlySet<NodeId>): boolean {
  return majorityOf(m.voters, members) && (m.outgoing === undefined || majorityOf(m.outgoing, members));
}

export function isVoter(m: Membership, id: NodeId): boolean {
  return m.voters.includes(id) || (m.outgoing?.includes(id) ?? false);
}
