/**
 * What recovery accepts is durable before anything new is acknowledged on top of it. A `kill -9` during a sync,
 * or a sync that fails before a reopen, leaves writes in the page cache that recovery reads back as if they
 * were on the disk; a power loss afterwards must not take them back from under later acknowledged writes (the
 * node would refuse to start), nor hand back a vote whose persist was refused (it could vote twice).
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskStorage } from './disk.js';
import { PowerLoss } from './power-loss.js';
import { SyncFaults } from './sync-faults.js';
import { commandEntry, snapshotDataAt, testMembership, writeSnapshotData } from './test-support.js';

let power: PowerLoss;
let faults: SyncFaults;
const dirs: string[] = [];

beforeEach(async () => {
  power = await PowerLoss.install();
  faults = await SyncFaults.install();
});

afterEach(async () => {
  faults.uninstall();
  power.uninstall();
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pureraft-recovered-'));
  dirs.push(dir);
  return dir;
}

/** What the disk holds after a power loss now, with none of the unsynced writes. */
async function afterPowerLoss(dir: string): Promise<string> {
  const image = await tempDir();
  await power.image(dir, image, () => 0);
  return image;
}

/** Resolves with 'hung' if `promise` has not settled within a while: the sync it waits for never returns. */
const settled = <T>(promise: Promise<T>) =>
  Promise.race([promise, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 500))]);

describe('recovery makes what it accepted durable', () => {
  it('a segment sealed, then killed in the seal’s sync: a restart, more writes and a power loss lose nothing', async () => {
    const dir = await tempDir();
    const first = new DiskStorage<string>(dir, { segmentBytes: 4096 });
    await first.load();
    faults.hangOnce(
      ({ method, path }) => method === 'datasync' && basename(path) === 'wal-00000001.log' && sealing(dir),
    );
    let index = 1;
    for (; index <= 200; index++) {
      const persisted = first.persist({ type: 'persist', entries: [commandEntry(index, 1)] });
      if ((await settled(persisted)) === 'hung') break;
    }
    expect(index).toBeLessThan(200);
    // Killed: its lock is a dead process's, and nothing it does reaches the disk any more.
    await rm(join(dir, 'LOCK'));
    const second = new DiskStorage<string>(dir, { segmentBytes: 1 << 20 });
    const loaded = await second.load();
    const last = loaded.entries.at(-1)!.index;
    await second.persist({
      type: 'persist',
      hardState: { term: 2, votedFor: 'n2' },
      entries: [commandEntry(last + 1, 2)],
    });
    const survivor = new DiskStorage<string>(await afterPowerLoss(dir));
    const after = await survivor.load();
    expect(after.entries.at(-1)!.index).toBe(last + 1);
    expect(after.hardState).toEqual({ term: 2, votedFor: 'n2' });
    await survivor.close();
  });

  it('a vote whose STATE sync failed is not handed back by a reopen, and what is survives a power loss', async () => {
    const dir = await tempDir();
    const storage = new DiskStorage<string>(dir);
    await storage.load();
    await storage.persist({
      type: 'persist',
      hardState: { term: 4, votedFor: 'n1' },
      entries: [commandEntry(1, 4)],
    });
    faults.failOnce(({ method, path }) => method === 'datasync' && basename(path) === 'STATE');
    await expect(
      storage.persist({ type: 'persist', hardState: { term: 5, votedFor: 'n2' } }),
    ).rejects.toThrow(/EIO/);
    // The refused vote was in STATE's page cache: the reopen handed it back as durable, and a power loss took
    // it away again (so the node could vote twice in term 5).
    const reopened = await storage.reopen();
    expect(reopened.hardState).toEqual({ term: 4, votedFor: 'n1' });
    await storage.persist({ type: 'persist', entries: [commandEntry(2, 4)] });
    const survivor = new DiskStorage<string>(await afterPowerLoss(dir));
    expect(await survivor.load()).toMatchObject({ hardState: { term: 4, votedFor: 'n1' } });
    await survivor.close();
    await storage.close();
  });

  it('a snapshot renamed into place whose directory sync failed is kept by a reopen with its hard state', async () => {
    const dir = await tempDir();
    const storage = new DiskStorage<string>(dir);
    await storage.load();
    await storage.persist({
      type: 'persist',
      hardState: { term: 1, votedFor: 'n1' },
      entries: [1, 2, 3].map((index) => commandEntry(index, 1)),
    });
    const data = await writeSnapshotData(storage.snapshots, snapshotDataAt(100));
    faults.failOnce(({ method, isDirectory, path }) => method === 'sync' && isDirectory && path === dir);
    const meta = { index: 100, term: 3, membership: testMembership };
    await expect(
      storage.persist({ type: 'persist', hardState: { term: 3, votedFor: null }, snapshot: { meta, data } }),
    ).rejects.toThrow(/could not sync .*EIO/);
    // Past its rename the snapshot is current: the reopen kept it, but had cut its record, hard state and all.
    const reopened = await storage.reopen();
    expect(reopened.snapshot?.meta).toEqual(meta);
    expect(reopened.hardState).toEqual({ term: 3, votedFor: null });
    await storage.persist({ type: 'persist', entries: [commandEntry(101, 3)] });
    const survivor = new DiskStorage<string>(await afterPowerLoss(dir));
    expect(await survivor.load()).toMatchObject({ snapshot: { meta }, entries: [commandEntry(101, 3)] });
    await survivor.close();
    await storage.close();
  });
});

/** Whether the log has moved to a second segment: the next sync of the first is its seal. */
function sealing(dir: string): boolean {
  return readdirSync(dir).includes('wal-00000002.log');
}
