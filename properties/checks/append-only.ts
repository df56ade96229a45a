/**
 * Leader append-only: while a node leads a term, every entry it held stays exactly as it was, except that a
 * snapshot may compact a prefix away (its meta is checked against the committed log, snapshots.ts).
 */
import { type RaftState, status } from '../../src/core/index.js';
import type { Command } from '../scenario.js';
import { PropertyViolation } from '../violation.js';
import { memoryLog, sameEntry, show } from './logs.js';

export function checkAppendOnly(before: RaftState<Command>, after: RaftState<Command>): void {
  const was = status(before);
  const is = status(after);
  if (was.role !== 'leader' || is.role !== 'leader' || was.term !== is.term) return;
  const old = memoryLog(before);
  const now = memoryLog(after);
  if (old === now) return;
  for (let index = old.lastIndex; index >= Math.max(old.firstIndex, now.firstIndex); index--) {
    if (!sameEntry(old.entry(index), now.entry(index))) {
      throw new PropertyViolation(
        'leader append-only',
        `${is.id}, leader of term ${is.term}, replaced ${show(old.entry(index))} by ${show(now.entry(index))}`,
      );
    }
  }
}
