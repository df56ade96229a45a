/**
 * Log matching: two logs with an entry of the same index and term are identical up to that index.
 * It is enough to find the highest index where both logs hold the same term and compare everything up to it:
 * any lower index with equal terms is then covered too. O(length) per pair.
 *
 * Logs are compared where both reach: down to the later of their two bases, where only terms are known for
 * the one that compacted it. Below that, each snapshot is checked against the committed log (snapshots.ts).
 */
import type { NodeId } from '../../src/core/index.js';
import { PropertyViolation } from '../violation.js';
import { type ReadableLog, sameEntry, show } from './logs.js';

export interface NamedLog {
  readonly name: NodeId;
  readonly log: ReadableLog;
}

export function checkLogMatching(a: NamedLog, b: NamedLog): void {
  const low = Math.max(a.log.firstIndex, b.log.firstIndex) - 1;
  let index = Math.min(a.log.lastIndex, b.log.lastIndex);
  while (index >= low && index >= 1 && a.log.term(index) !== b.log.term(index)) index--;
  const anchor = index;
  for (; index >= low && index >= 1; index--) {
    const both = index >= a.log.firstIndex && index >= b.log.firstIndex;
    const same = both
      ? sameEntry(a.log.entry(index), b.log.entry(index))
      : a.log.term(index) === b.log.term(index);
    if (!same) {
      throw new PropertyViolation(
        'log matching',
        `${a.name} and ${b.name} agree on ${show(a.log.entry(anchor))} but differ at index ${index}: ` +
          `${describe(a.log, index)} vs ${describe(b.log, index)}`,
      );
    }
  }
}

function describe(log: ReadableLog, index: number): string {
  return index < log.firstIndex ? `a snapshot of term ${log.term(index)}` : show(log.entry(index));
}
