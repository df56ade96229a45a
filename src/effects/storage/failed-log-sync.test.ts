/**
 * STATE takes a hard state only after the log's batch holding it is synced: a persist whose log sync fails is
 * rejected, and neither a reopen nor a restart hands back its vote.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { useDiskFixture } from './disk-fixture.js';
import { applyPersist, initialHardState, type PersistEffect } from './storage.js';
import { SyncFaults } from './sync-faults.js';
import { commandEntry } from './test-support.js';

const disk = useDiskFixture();
let faults: SyncFaults | undefined;
afterEach(() => {
  faults?.uninstall();
  faults = undefined;
});

describe('DiskStorage after a failed sync of the log', () => {
  it('reopens without the vote of the batch it rejected, and STATE does not hold it either', async () => {
    const storage = disk.open();
    await storage.load();
    const kept: PersistEffect<string> = {
      type: 'persist',
      hardState: { term: 1, votedFor: 'n1' },
      entries: [commandEntry(1, 1)],
    };
    await storage.persist(kept);
    faults = await SyncFaults.install();
    faults.failOnce((call) => call.method === 'datasync' && /wal-\d+\.log$/.test(call.path));
    const vote: PersistEffect<string> = {
      type: 'persist',
      hardState: { term: 2, votedFor: 'n2' },
      entries: [commandEntry(2, 2)],
    };
    await expect(storage.persist(vote)).rejects.toThrow(/EIO/);
    const expected = applyPersist({ hardState: initialHardState, entries: [] }, kept);
    expect(await storage.reopen()).toEqual(expected);
    await storage.close();
    expect(await disk.reload()).toEqual(expected);
  });
});
