/** The always-on checks must bite: they never fire on a correct Raft, so show them a broken history. */
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/core/index.js';
import { DurableLog } from '../../src/effects/storage/storage.js';
import { SafetyViolation } from '../../src/runtime/simulator/index.js';
import { SafetyChecks } from './safety.js';

const entry = (index: number, term: number): Entry<number> => ({
  index,
  term,
  kind: 'command',
  command: index,
});

/** A server storing `entries`, after a snapshot through `snapshotIndex` when that is given. */
function server(id: string, entries: readonly Entry<number>[], snapshotIndex?: number) {
  const hardState = { term: 2, votedFor: null };
  const membership = { voters: ['a', 'b', 'c'], learners: [] };
  const snapshot =
    snapshotIndex === undefined
      ? undefined
      : { meta: { index: snapshotIndex, term: 1, membership }, data: null };
  return { id, durable: new DurableLog<number>({ hardState, entries, ...(snapshot && { snapshot }) }) };
}

describe('lab safety checks', () => {
  it('reject two leaders in one term, and accept one leader re-elected in a later term', () => {
    const [a, b] = [server('a', []), server('b', [])];
    const checks = new SafetyChecks<number>(() => [a, b]);
    checks.transition(a, { role: 'candidate', term: 1 }, { role: 'leader', term: 1 });
    checks.transition(b, { role: 'candidate', term: 2 }, { role: 'leader', term: 2 });
    checks.transition(a, { role: 'candidate', term: 3 }, { role: 'leader', term: 3 });
    expect(() => checks.transition(b, { role: 'candidate', term: 3 }, { role: 'leader', term: 3 })).toThrow(
      SafetyViolation,
    );
  });

  it('reject an entry applied while only a minority stores it', () => {
    const stored = [entry(1, 1), entry(2, 2)];
    const nodes = [server('a', stored), server('b', [entry(1, 1), entry(2, 1)]), server('c', [entry(1, 1)])];
    const checks = new SafetyChecks<number>(() => nodes);
    // Index 1 is on all three; index 2 of term 2 only on a (b holds another entry there).
    checks.applied([stored[0]!]);
    expect(() => checks.applied([stored[1]!])).toThrow(SafetyViolation);
  });

  it('count an entry compacted into a snapshot as stored', () => {
    // a compacted entries 1 and 2; a and b hold entry 3, c nothing: 3 is on a majority.
    const nodes = [
      server('a', [entry(3, 1)], 2),
      server(
        'b',
        [1, 2, 3].map((i) => entry(i, 1)),
      ),
      server('c', []),
    ];
    const checks = new SafetyChecks<number>(() => nodes);
    expect(() => checks.applied([entry(3, 1)])).not.toThrow();
  });
});
