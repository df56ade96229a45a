/**
 * Election safety: at most one leader per term, over the whole history (not just at one instant).
 *
 * Also the rule it rests on (§5.2): a node gives at most one vote per term, across restarts. A vote is
 * given when a granted RequestVoteResponse leaves the node, or when a node counts its own vote by becoming
 * leader; a candidate that crashes before winning takes its own vote down with it, harmlessly. A double vote
 * shows this way even in a history that does not go on to elect both candidates.
 */
import { type Effect, type NodeId, type RaftState, status } from '../../src/core/index.js';
import type { Command } from '../scenario.js';
import { PropertyViolation } from '../violation.js';

export class ElectionSafety {
  readonly #leaderOfTerm = new Map<number, NodeId>();
  /** `${term} ${voter}` -> the candidate it voted for. */
  readonly #votes = new Map<string, NodeId>();

  check(state: RaftState<Command>, effects: readonly Effect<Command>[] = []): void {
    for (const effect of effects) {
      const message = effect.type === 'send' ? effect.message : undefined;
      if (message?.type === 'RequestVoteResponse' && message.voteGranted) {
        this.#vote(message.term, message.from, message.to);
      }
    }
    const { role, term, id } = status(state);
    if (role !== 'leader') return;
    this.#vote(term, id, id);
    const leader = this.#leaderOfTerm.get(term);
    if (leader === undefined) this.#leaderOfTerm.set(term, id);
    else if (leader !== id) {
      throw new PropertyViolation('election safety', `${id} and ${leader} both lead term ${term}`);
    }
  }

  #vote(term: number, voter: NodeId, candidate: NodeId): void {
    const key = `${term} ${voter}`;
    const earlier = this.#votes.get(key);
    if (earlier === undefined) this.#votes.set(key, candidate);
    else if (earlier !== candidate) {
      throw new PropertyViolation(
        'election safety',
        `${voter} voted for ${earlier} and for ${candidate} in term ${term}`,
      );
    }
  }
}
