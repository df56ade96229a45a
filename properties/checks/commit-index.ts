/**
 * The commit index never goes back within an incarnation, and never passes what a majority holds on disk.
 *
 * Commits are a leader's decision (§5.3, §6): when a leader's commit index moves, the entry there (term
 * included) must be on disk on a majority of the voters of the configuration it holds, and during a joint
 * change on a majority of the outgoing voters too; a node that has compacted the index into a snapshot holds
 * it. (A leader writes its own new entries in parallel with sending them, thesis §10.2.1, so a single voter
 * commits before its write; the commit shows only through effects after it, core/output.ts, which is why a
 * transition cut short is judged by what it showed.) Anyone else only learns commits (from a leader, a snapshot or its own disk), so its commit index never
 * passes the highest one any leader reached. A follower's own configuration says nothing here: it may lag
 * the leader's, or come from entries that its leader is about to overwrite.
 */
import { type Effect, type NodeId, type RaftState, status } from '../../src/core/index.js';
import type { SimNode } from '../../src/runtime/simulator/index.js';
import type { Command } from '../scenario.js';
import { PropertyViolation } from '../violation.js';
import { covers, durableLog, memoryLog, show } from './logs.js';
import { isMajority } from './quorum.js';

/**
 * The commit index a transition shows: its new one, unless it was cut short by a crash; then only as far as
 * the effects it executed show it (an apply, a restore, an AppendEntries carrying it), since the state itself
 * is lost with the crash.
 */
export function visibleCommit(
  before: RaftState<Command>,
  after: RaftState<Command>,
  effects: readonly Effect<Command>[],
  cutShort: boolean,
): number {
  if (!cutShort) return status(after).commitIndex;
  let shown = status(before).commitIndex;
  for (const effect of effects) {
    if (effect.type === 'apply') shown = Math.max(shown, effect.entries.at(-1)?.index ?? 0);
    if (effect.type === 'restore') shown = Math.max(shown, effect.snapshot.meta.index);
    if (effect.type === 'send' && effect.message.type === 'AppendEntries') {
      shown = Math.max(shown, effect.message.leaderCommit);
    }
  }
  return shown;
}

export class CommitIndexCheck {
  /** The highest commit index any leader reached: no one else may pass it. */
  #highestLeaderCommit = 0;

  /** `commitIndex`: what the transition shows of `after`'s commit index (see `visibleCommit`). */
  check(
    before: RaftState<Command>,
    after: RaftState<Command>,
    commitIndex: number,
    nodes: ReadonlyMap<NodeId, SimNode<Command>>,
  ): void {
    const was = status(before);
    const { id, membership, role, term } = status(after);
    if (commitIndex < was.commitIndex) {
      throw new PropertyViolation(
        'commit index monotonic',
        `${id}'s commit index went from ${was.commitIndex} to ${commitIndex}`,
      );
    }
    // A leader that leaves in this very transition, in its own term, is one removed by the change it committed.
    const decided = role === 'leader' || (was.role === 'leader' && term === was.term);
    if (decided) this.#highestLeaderCommit = Math.max(this.#highestLeaderCommit, commitIndex);
    if (commitIndex === was.commitIndex) return;
    if (!decided) {
      if (commitIndex <= this.#highestLeaderCommit) return;
      throw new PropertyViolation(
        'commit index within a majority',
        `${id} (not a leader) commits up to ${commitIndex}, past every leader's commit index ` +
          `(${this.#highestLeaderCommit})`,
      );
    }
    const entry = memoryLog(after).entry(commitIndex);
    const holders = [...nodes.values()]
      .filter((node) => entry !== undefined && covers(durableLog(node), entry))
      .map((node) => node.id);
    if (!isMajority(membership, new Set(holders))) {
      const outgoing = membership.outgoing ? `, outgoing ${membership.outgoing.join(',')}` : '';
      throw new PropertyViolation(
        'commit index within a majority',
        `${id} commits up to ${show(entry)}, which only ${holders.join(', ') || 'no node'} hold(s) on disk ` +
          `(voters ${membership.voters.join(',')}${outgoing})`,
      );
    }
  }
}
