/** Majority arithmetic (§5.2, §5.3), in one place and tested on its own. */
import type { NodeId } from './types.js';

export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The highest index that a majority of voters hold: the largest match that at least a majority of the matches
 * reach (the one at position majority - 1 in descending order). A voter with no reported match counts as 0.
 * A count per candidate rather than a sort: no comparator calls and no second array, on every leader step, for
 * the few voters a cluster has.
 */
export function committedIndex(voters: readonly NodeId[], matchOf: (voter: NodeId) => number): number {
  const matches = voters.map(matchOf);
  const needed = majority(voters.length);
  let committed = 0;
  for (const candidate of matches) {
    if (candidate <= committed) continue;
    let holding = 0;
    for (const match of matches) if (match >= candidate) holding++;
    if (holding >= needed) committed = candidate;
  }
  return committed;
}

export type VoteResult = 'won' | 'lost' | 'pending';

/** The outcome of an election given who granted and who refused, counting voters only. */
export function voteResult(
  voters: readonly NodeId[],
  granted: readonly NodeId[],
  refused: readonly NodeId[],
): VoteResult {
  const needed = majority(voters.length);
  const yes = voters.filter((voter) => granted.includes(voter)).length;
  const no = voters.filter((voter) => refused.includes(voter)).length;
  if (yes >= needed) return 'won';
  if (voters.length - no < needed) return 'lost';
  return 'pending';
}
