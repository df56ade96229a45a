import { describe, expect, it } from 'vitest';
import type { Durable, Entry, Snapshot } from '../../core/index.js';
import { applyPersist, DurableLog, initialHardState } from './storage.js';

const entry = (index: number, term: number, command = `c${index}`): Entry<string> => ({
  index,
  term,
  kind: 'command',
  command,
});
const entries = (from: number, to: number, term: number): Entry<string>[] =>
  Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term));
const snapshotAt = (index: number, term: number): Snapshot => ({
  meta: { index, term, membership: { voters: ['a', 'b', 'c'], learners: [] } },
  data: `state through ${index}`,
});

describe('applyPersist', () => {
  const empty = { hardState: initialHardState, entries: [] };

  it('replaces the hard state and leaves entries alone', () => {
    const before = applyPersist<string>(empty, { type: 'persist', entries: entries(1, 2, 1) });
    const after = applyPersist(before, { type: 'persist', hardState: { term: 3, votedFor: 'b' } });
    expect(after).toEqual({ hardState: { term: 3, votedFor: 'b' }, entries: entries(1, 2, 1) });
  });

  it('truncates before appending, so a conflicting suffix is replaced', () => {
    const before = applyPersist<string>(empty, { type: 'persist', entries: entries(1, 5, 1) });
    const after = applyPersist(before, { type: 'persist', truncateFrom: 3, entries: entries(3, 4, 2) });
    expect(after.entries).toEqual([...entries(1, 2, 1), ...entries(3, 4, 2)]);
  });

  it('applies hard state, then truncation, then entries in one effect', () => {
    const before = applyPersist<string>(empty, { type: 'persist', entries: entries(1, 3, 1) });
    const after = applyPersist(before, {
      type: 'persist',
      hardState: { term: 2, votedFor: null },
      truncateFrom: 1,
      entries: entries(1, 1, 2),
    });
    expect(after).toEqual({ hardState: { term: 2, votedFor: null }, entries: entries(1, 1, 2) });
  });

  it('treats a truncation past the end as deleting nothing', () => {
    const before = applyPersist<string>(empty, { type: 'persist', entries: entries(1, 2, 1) });
    expect(applyPersist(before, { type: 'persist', truncateFrom: 9 }).entries).toEqual(entries(1, 2, 1));
  });

  it('does not modify its argument', () => {
    const before = applyPersist<string>(empty, { type: 'persist', entries: entries(1, 3, 1) });
    applyPersist(before, { type: 'persist', truncateFrom: 2, entries: entries(2, 2, 5) });
    expect(before.entries).toEqual(entries(1, 3, 1));
  });

  it('rejects a gap, within an effect or after the log, with a clear error', () => {
    const before = applyPersist<string>(empty, { type: 'persist', entries: entries(1, 2, 1) });
    expect(() => applyPersist(before, { type: 'persist', entries: [entry(4, 1)] })).toThrow(
      /entry index 4 does not continue the log, whose last index is 2/,
    );
    expect(() => applyPersist(before, { type: 'persist', entries: [entry(3, 1), entry(5, 1)] })).toThrow(
      /gap/,
    );
    expect(() => applyPersist(empty, { type: 'persist', entries: [entry(0, 1)] })).toThrow(/gap/);
    // Truncating to 2 leaves index 1 as the last, so the next entry must be 2.
    expect(() => applyPersist(before, { type: 'persist', truncateFrom: 2, entries: [entry(3, 2)] })).toThrow(
      /gap/,
    );
  });

  it('rejects a truncateFrom that is not a positive integer', () => {
    expect(() => applyPersist(empty, { type: 'persist', truncateFrom: 0 })).toThrow(/positive integer/);
    expect(() => applyPersist(empty, { type: 'persist', truncateFrom: 1.5 })).toThrow(/positive integer/);
  });

  it('rejects an initial state whose entries are not 1-based and contiguous', () => {
    expect(() =>
      applyPersist({ hardState: initialHardState, entries: [entry(2, 1)] }, { type: 'persist' }),
    ).toThrow(/index 2, not 1/);
  });
});

describe('applyPersist with a snapshot (contract rule 11)', () => {
  const tenEntries: Durable<string> = { hardState: { term: 1, votedFor: 'a' }, entries: entries(1, 10, 1) };

  it('deletes the entries through the snapshot and keeps the ones after it', () => {
    const after = applyPersist(tenEntries, { type: 'persist', snapshot: snapshotAt(6, 1) });
    expect(after).toEqual({
      hardState: tenEntries.hardState,
      entries: entries(7, 10, 1),
      snapshot: snapshotAt(6, 1),
    });
  });

  it('continues the log right after a snapshot past the last entry', () => {
    const after = applyPersist(tenEntries, {
      type: 'persist',
      snapshot: snapshotAt(15, 2),
      entries: entries(16, 17, 2),
    });
    expect(after.entries).toEqual(entries(16, 17, 2));
    expect(() =>
      applyPersist(tenEntries, { type: 'persist', snapshot: snapshotAt(15, 2), entries: [entry(11, 2)] }),
    ).toThrow(/entry index 11 does not continue the log, whose last index is 15/);
  });

  it('applies hard state, snapshot, truncation and entries in that order in one effect', () => {
    const after = applyPersist(tenEntries, {
      type: 'persist',
      hardState: { term: 3, votedFor: null },
      snapshot: snapshotAt(5, 1),
      truncateFrom: 8,
      entries: entries(8, 9, 3),
    });
    expect(after).toEqual({
      hardState: { term: 3, votedFor: null },
      entries: [...entries(6, 7, 1), ...entries(8, 9, 3)],
      snapshot: snapshotAt(5, 1),
    });
  });

  it('treats a truncation at or below the snapshot as deleting every entry after it', () => {
    const after = applyPersist(tenEntries, {
      type: 'persist',
      snapshot: snapshotAt(5, 1),
      truncateFrom: 3,
      entries: entries(6, 6, 2),
    });
    expect(after.entries).toEqual(entries(6, 6, 2));
    expect(after.snapshot).toEqual(snapshotAt(5, 1));
  });

  it('rejects a snapshot that is not newer than the stored one, changing nothing', () => {
    const log = new DurableLog<string>(tenEntries);
    log.apply({ type: 'persist', snapshot: snapshotAt(4, 1) });
    const before = log.snapshot();
    for (const index of [4, 3]) {
      expect(() =>
        log.apply({
          type: 'persist',
          hardState: { term: 9, votedFor: null },
          snapshot: snapshotAt(index, 1),
        }),
      ).toThrow(`snapshot at index ${index} is not newer than the stored one at index 4`);
    }
    expect(() => log.apply({ type: 'persist', snapshot: snapshotAt(0, 1) })).toThrow(/positive integers/);
    expect(log.snapshot()).toEqual(before);
  });

  it('starts from a durable snapshot, with the entries continuing after it', () => {
    const durable: Durable<string> = {
      hardState: { term: 2, votedFor: null },
      entries: entries(8, 9, 2),
      snapshot: snapshotAt(7, 2),
    };
    const log = new DurableLog(durable);
    expect([log.snapshotIndex, log.lastIndex]).toEqual([7, 9]);
    expect(log.snapshot()).toEqual(durable);
    expect(() => new DurableLog({ ...durable, entries: entries(1, 9, 2) })).toThrow(/index 1, not 8/);
  });
});

describe('DurableLog', () => {
  it('changes nothing when an effect is rejected', () => {
    const log = new DurableLog<string>();
    log.apply({ type: 'persist', entries: entries(1, 3, 1) });
    expect(() =>
      log.apply({
        type: 'persist',
        hardState: { term: 9, votedFor: 'x' },
        truncateFrom: 2,
        entries: [entry(5, 9)],
      }),
    ).toThrow(/gap/);
    expect(log.snapshot()).toEqual({ hardState: initialHardState, entries: entries(1, 3, 1) });
  });

  it('keeps appending to one array, and snapshots are independent copies', () => {
    const log = new DurableLog<string>();
    const view = log.entries;
    for (let index = 1; index <= 1000; index++) log.apply({ type: 'persist', entries: [entry(index, 1)] });
    expect(log.entries).toBe(view);
    const snapshot = log.snapshot();
    log.apply({ type: 'persist', truncateFrom: 1 });
    expect(snapshot.entries).toHaveLength(1000);
    expect(log.lastIndex).toBe(0);
  });

  it('drops compacted entries from its array, which stays the live view', () => {
    const log = new DurableLog<string>();
    const view = log.entries;
    log.apply({ type: 'persist', entries: entries(1, 1000, 1) });
    log.apply({ type: 'persist', snapshot: snapshotAt(990, 1) });
    expect(log.entries).toBe(view);
    expect(view).toEqual(entries(991, 1000, 1));
    log.apply({ type: 'persist', entries: [entry(1001, 1)] });
    expect(view.at(-1)).toEqual(entry(1001, 1));
    expect([log.snapshotIndex, log.lastIndex]).toEqual([990, 1001]);
  });
});
