/**
 * Leader completeness: an entry committed in a term is in the log of every leader of a later term.
 *
 * Checked in two forms. The direct one looks at every leader. The early one looks at every node: one that
 * lacks a committed entry must not be able to win an election, i.e. fewer than a majority of nodes (itself
 * included) may have logs no more up-to-date than its own (§5.4.1; terms and votes aside). Raft guarantees it:
 * a majority holds an entry of the committing term at or past the entry, and each of them is strictly more
 * up-to-date than any log lacking it. The early form catches a premature commit (Figure 8) as soon as it is
 * made, instead of waiting for a history that also elects the wrong node.
 *
 * Membership changes (§6): a node campaigns under the configuration it holds, and needs a majority of its
 * voters (and of the outgoing ones, while joint). Joint consensus guarantees that any configuration a node can
 * hold overlaps, in a majority, the nodes that hold every committed entry: switching configurations without the
 * joint phase breaks exactly this.
 */
import { type Membership, type NodeId, type RaftState, status } from '../../src/core/index.js';
import type { Command } from '../scenario.js';
import { PropertyViolation } from '../violation.js';
import type { Committed, CommittedLog } from './committed.js';
import { covers, memoryLog, type ReadableLog, show } from './logs.js';
import { isMajority, isVoter } from './quorum.js';

export function checkLeaderHolds(leader: RaftState<Command>, committed: Committed): void {
  const { id, term } = status(leader);
  if (committed.term >= term) return;
  const log = memoryLog(leader);
  if (!covers(log, committed.entry)) {
    const held = log.entry(committed.entry.index);
    throw new PropertyViolation(
      'leader completeness',
      `${id}, leader of term ${term}, holds ${show(held)} where ${show(committed.entry)} was committed ` +
        `in term ${committed.term} (by ${committed.by})`,
    );
  }
}

export function checkLeaderHoldsAll(leader: RaftState<Command>, committed: CommittedLog): void {
  for (const entry of committed.all()) checkLeaderHolds(leader, entry);
}

export interface NodeLog {
  readonly id: NodeId;
  readonly log: ReadableLog;
  /** The configuration it would campaign under. */
  readonly membership: Membership;
}

/** Would a voter whose log is `voter` find a candidate with log `candidate` at least as up-to-date? */
function grants(voter: ReadableLog, candidate: ReadableLog): boolean {
  return (
    candidate.lastTerm > voter.lastTerm ||
    (candidate.lastTerm === voter.lastTerm && candidate.lastIndex >= voter.lastIndex)
  );
}

export function checkNoElectableNodeLacks(logs: readonly NodeLog[], committed: CommittedLog): void {
  // Committed entries are a prefix, so lacking any of them shows at the last one (given log matching).
  const last = committed.at(committed.lastIndex);
  if (last === undefined) return;
  for (const node of logs) {
    if (!isVoter(node.membership, node.id) || covers(node.log, last.entry)) continue;
    const granting = logs.filter((voter) => grants(voter.log, node.log)).map((voter) => voter.id);
    if (isMajority(node.membership, new Set(granting))) {
      throw new PropertyViolation(
        'leader completeness',
        `${node.id} lacks ${show(last.entry)}, committed in term ${last.term} (by ${last.by}), ` +
          `yet ${granting.join(', ')} would elect it (their logs are no more up-to-date)`,
      );
    }
  }
}
