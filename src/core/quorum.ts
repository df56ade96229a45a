/** Majority arithmetic (§5.2, §5.3), in one place and tested on its own. */
import type { NodeId } from './types.js';

export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The highest index that a majority of voters hold: sort the match indices descending and take the one at
 * position majority - 1. A voter with no reported match counts as 0.
 */
export function committedIndex(voters: readonly NodeId[], matchOf: (voter: NodeId) => number): number {
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[majority(voters.length) - 1] ?? 0;
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
