/**
 * Log matching: two logs with an entry of the same index and term are identical up to that index.
 * It is enough to find the highest index where both logs hold the same term and compare everything up to it:
 * any lower index with equal terms is then covered too. O(length) per pair.
 */
import type { NodeId } from '../../src/core/index.js';
import { PropertyViolation } from '../violation.js';
import { type ReadableLog, sameEntry, show } from './logs.js';

export interface NamedLog {
  readonly name: NodeId;
  readonly log: ReadableLog;
}

export function checkLogMatching(a: NamedLog, b: NamedLog): void {
  let index = Math.min(a.log.lastIndex, b.log.lastIndex);
  while (index >= 1 && a.log.entry(index)?.term !== b.log.entry(index)?.term) index--;
  const anchor = index;
  for (; index >= 1; index--) {
    if (!sameEntry(a.log.entry(index), b.log.entry(index))) {
      throw new PropertyViolation(
        'log matching',
        `${a.name} and ${b.name} agree on ${show(a.log.entry(anchor))} but differ at index ${index}: ` +
          `${show(a.log.entry(index))} vs ${show(b.log.entry(index))}`,
      );
    }
  }
}
