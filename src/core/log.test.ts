import { describe, expect, it } from 'vitest';
import { entries, entry } from '../../test/support/core.js';
import { RaftLog } from './log.js';

describe('RaftLog, a persistent log', () => {
  it('appends, reads entries and terms by index, and reports its ends', () => {
    const log = RaftLog.from(entries(1, 1, 2));
    expect([log.firstIndex, log.lastIndex, log.lastTerm]).toEqual([1, 3, 2]);
    expect(log.term(0)).toBe(0);
    expect(log.term(3)).toBe(2);
    expect(log.term(4)).toBeUndefined();
    expect(log.entry(2)).toEqual(entry(2, 1, 'x2'));
    expect(log.slice(2)).toEqual(entries(1, 1, 2).slice(1));
    expect(log.slice(2, 2)).toEqual([entry(2, 1, 'x2')]);
  });

  it('old versions stay valid after appends, truncations and appends to old versions (forks)', () => {
    const base = RaftLog.from(entries(1, 1));
    const longer = base.append([entry(3, 1, 'a')]);
    const truncated = longer.truncateFrom(2);
    const forked = truncated.append([entry(2, 2, 'b'), entry(3, 2, 'c')]);
    const fromBase = base.append([entry(3, 3, 'd')]);
    expect(base.slice(1)).toEqual(entries(1, 1));
    expect(longer.slice(1)).toEqual([...entries(1, 1), entry(3, 1, 'a')]);
    expect(truncated.slice(1)).toEqual(entries(1));
    expect(forked.slice(1)).toEqual([entry(1, 1, 'x1'), entry(2, 2, 'b'), entry(3, 2, 'c')]);
    expect(fromBase.slice(1)).toEqual([...entries(1, 1), entry(3, 3, 'd')]);
  });

  it('keeps every version right across chunk boundaries', () => {
    let log = RaftLog.empty<string>();
    const versions: RaftLog<string>[] = [];
    for (let i = 1; i <= 10_000; i++) {
      log = log.append([entry(i, Math.ceil(i / 1000), `v${i}`)]);
      if (i % 997 === 0) versions.push(log);
    }
    const fork = versions[4]!.truncateFrom(4000).append([entry(4000, 99, 'fork')]);
    expect(fork.lastIndex).toBe(4000);
    expect(fork.term(4000)).toBe(99);
    expect(log.term(4000)).toBe(4);
    versions.forEach((version, i) => {
      expect(version.lastIndex).toBe((i + 1) * 997);
      expect(version.entry(version.lastIndex)?.command).toBe(`v${version.lastIndex}`);
    });
  });

  it('refuses an append that leaves a gap: a broken invariant, not a silent corruption', () => {
    expect(() => RaftLog.from(entries(1)).append([entry(3, 1)])).toThrow(/append at 3, expected 2/);
  });

  it('finds the first and last index of a term by binary search', () => {
    const log = RaftLog.from(entries(1, 1, 3, 3, 3, 5));
    expect(log.firstIndexOfTerm(3)).toBe(3);
    expect(log.lastIndexOfTerm(3)).toBe(5);
    expect(log.firstIndexOfTerm(1)).toBe(1);
    expect(log.lastIndexOfTerm(5)).toBe(6);
    expect(log.firstIndexOfTerm(2)).toBeUndefined();
    expect(log.lastIndexOfTerm(4)).toBeUndefined();
    expect(log.lastIndexOfTerm(9)).toBeUndefined();
  });

  it('§5.4.1 up-to-date: compare last terms, then lengths', () => {
    const log = RaftLog.from(entries(1, 2, 2));
    expect(log.isUpToDate(1, 3)).toBe(true);
    expect(log.isUpToDate(3, 2)).toBe(true);
    expect(log.isUpToDate(2, 2)).toBe(false);
    expect(log.isUpToDate(9, 1)).toBe(false);
  });
});
