/**
 * The commit index never goes back within an incarnation, and never passes what a majority holds on disk
 * (the entry at the new commit index, term included, in a majority of durable logs).
 */
import { type RaftState, status } from '../../src/core/index.js';
import type { SimNode } from '../../src/runtime/simulator/index.js';
import type { Command } from '../scenario.js';
import { PropertyViolation } from '../violation.js';
import { durableLog, memoryLog, sameEntry, show } from './logs.js';

export function checkCommitIndex(
  before: RaftState<Command>,
  after: RaftState<Command>,
  nodes: Iterable<SimNode<Command>>,
  majority: number,
): void {
  const was = status(before).commitIndex;
  const { id, commitIndex } = status(after);
  if (commitIndex < was) {
    throw new PropertyViolation(
      'commit index monotonic',
      `${id}'s commit index went from ${was} to ${commitIndex}`,
    );
  }
  if (commitIndex === was) return;
  const entry = memoryLog(after).entry(commitIndex);
  let holders = 0;
  for (const node of nodes) if (sameEntry(durableLog(node).entry(commitIndex), entry)) holders++;
  if (holders < majority) {
    throw new PropertyViolation(
      'commit index within a majority',
      `${id} commits up to ${show(entry)}, which only ${holders} node(s) hold on disk`,
    );
  }
}
