/**
 * The hard state recovery keeps is the newer of the log's and STATE's: a vote is never forgotten because one of
 * the two has not caught up with the other (STATE is written only after the log's batch is synced).
 */
import { describe, expect, it } from 'vitest';
import { useDiskFixture } from './disk-fixture.js';
import { newerHardState, readStateFile, StateFile } from './state-file.js';

const conflict = (reason: string) => new Error(reason);

describe('newerHardState', () => {
  it('takes the higher term, and in the same term the one with a vote, whichever side it is on', () => {
    const voted = { term: 2, votedFor: 'n1' };
    const unvoted = { term: 2, votedFor: null };
    expect(newerHardState(voted, unvoted, conflict)).toEqual(voted);
    expect(newerHardState(unvoted, voted, conflict)).toEqual(voted);
    expect(newerHardState({ term: 3, votedFor: null }, voted, conflict)).toEqual({ term: 3, votedFor: null });
    expect(newerHardState(voted, { term: 3, votedFor: null }, conflict)).toEqual({ term: 3, votedFor: null });
    expect(() => newerHardState(voted, { term: 2, votedFor: 'n2' }, conflict)).toThrow(/two votes/);
  });
});

describe('DiskStorage recovering a vote that STATE does not hold yet', () => {
  const disk = useDiskFixture();

  it('keeps the vote the log holds when a crash came between its sync and STATE’s write', async () => {
    const storage = disk.open();
    await storage.load();
    await storage.persist({ type: 'persist', hardState: { term: 2, votedFor: null } });
    await storage.persist({ type: 'persist', hardState: { term: 2, votedFor: 'n1' } });
    await disk.crash(storage);
    // STATE as the crash would leave it: still at the term, without the vote.
    const read = await readStateFile(disk.dir);
    const state = await StateFile.open(disk.dir, read!);
    await state.write({ term: 2, votedFor: null });
    await state.close();
    expect((await disk.reload()).hardState).toEqual({ term: 2, votedFor: 'n1' });
  });
});
