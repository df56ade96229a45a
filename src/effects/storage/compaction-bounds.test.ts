/**
 * Compaction deletes exactly the sealed segments a snapshot covers (every entry they wrote at or below its
 * index), and before it deletes any writes the hard state into the open segment: so a segment whose last entry
 * is just past the snapshot is kept, and after compaction the log alone still holds the vote, which a damaged
 * STATE slot must not take back; and it syncs the directory after each deletion, so that a power loss keeps the
 * remaining segments numbered without a gap.
 */
import { fstatSync, readdirSync, realpathSync } from 'node:fs';
import { copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Durable, HardState, Snapshot } from '../../core/index.js';
import { jsonCodec } from '../binary.js';
import type { SnapshotRef } from '../snapshot-data.js';
import type { DiskStorage } from './disk.js';
import { recordOffsets, useDiskFixture } from './disk-fixture.js';
import { crc32, readFrame } from './frame.js';
import { segmentPath, statePath } from './layout.js';
import { wrapSyncs } from './power-loss.js';
import { decodePersistRecord } from './record.js';
import { SLOT_BYTES } from './slots.js';
import { applyPersist, initialHardState, type PersistEffect } from './storage.js';
import {
  commandEntry,
  flipped,
  makeTempDir,
  snapshotDataAt,
  testMembership,
  writeSnapshotData,
} from './test-support.js';

const disk = useDiskFixture();
const options = { segmentBytes: 2048 };

async function takeSnapshot(storage: DiskStorage<string>, index: number): Promise<Snapshot> {
  const ref = await writeSnapshotData(storage.snapshots, snapshotDataAt(index));
  return { meta: { index, term: 1, membership: testMembership }, data: ref };
}

/** What applying `effects` gives, with the snapshot's data named as a reopened storage names it. */
function expectedAfter(effects: readonly PersistEffect<string>[]): Durable<string> {
  const durable = effects.reduce<Durable<string>>(applyPersist, { hardState: initialHardState, entries: [] });
  if (durable.snapshot === undefined) return durable;
  const { meta } = durable.snapshot;
  const data = snapshotDataAt(meta.index);
  const ref: SnapshotRef = {
    kind: 'snapshot-ref',
    name: `snapshot-${String(meta.index).padStart(16, '0')}.snap`,
    bytes: data.length,
    crc32: crc32(data),
  };
  return { ...durable, snapshot: { meta, data: ref } };
}

/** The highest entry index the records of segment `number` wrote. */
async function lastEntryOf(number: number): Promise<number> {
  const path = segmentPath(disk.dir, number);
  const bytes = await readFile(path);
  let last = 0;
  for (const offset of await recordOffsets(path)) {
    const frame = readFrame(bytes, offset);
    if (!frame.ok) throw new Error(frame.reason);
    last = Math.max(
      last,
      decodePersistRecord(frame.payload, jsonCodec<string>()).entries?.at(-1)?.index ?? 0,
    );
  }
  return last;
}

describe('DiskStorage compaction bounds', () => {
  it('keeps a sealed segment whose last entry is one past the snapshot', async () => {
    const storage = disk.open(options);
    await storage.load();
    const effects: PersistEffect<string>[] = [{ type: 'persist', hardState: { term: 1, votedFor: 'n1' } }];
    for (let index = 1; index <= 40; index++)
      effects.push({ type: 'persist', entries: [commandEntry(index, 1)] });
    for (const effect of effects) await storage.persist(effect);
    const names = (await readdir(disk.dir)).filter((name) => name.startsWith('wal-'));
    expect(names.length).toBeGreaterThanOrEqual(3);
    // A snapshot one short of the first segment's last entry: that segment still holds an entry after it.
    const snapshot: PersistEffect<string> = {
      type: 'persist',
      snapshot: await takeSnapshot(storage, (await lastEntryOf(1)) - 1),
    };
    await storage.persist(snapshot);
    await storage.close();
    expect(await disk.reload(options)).toEqual(expectedAfter([...effects, snapshot]));
  });

  it('keeps the vote in the log once compaction deleted its records: a damaged STATE slot does not take it back', async () => {
    const storage = disk.open(options);
    await storage.load();
    const vote: HardState = { term: 7, votedFor: 'n2' };
    await storage.persist({ type: 'persist', hardState: { term: 6, votedFor: 'n1' } });
    await storage.persist({ type: 'persist', hardState: vote });
    for (let index = 1; index <= 40; index++)
      await storage.persist({ type: 'persist', entries: [commandEntry(index, 1)] });
    await storage.persist({ type: 'persist', snapshot: await takeSnapshot(storage, 40) });
    await storage.close();
    // The records that wrote both hard states are gone with the first segment.
    expect(await readdir(disk.dir)).not.toContain('wal-00000001.log');
    // STATE's slots hold term 7 and term 6: damage either one, in a copy of the directory each time.
    for (const slot of [0, 1]) {
      const copy = await makeTempDir();
      try {
        for (const name of await readdir(disk.dir)) {
          if (name !== 'LOCK') await copyFile(join(disk.dir, name), join(copy.dir, name));
        }
        const state = statePath(copy.dir);
        await writeFile(state, flipped(await readFile(state), slot * SLOT_BYTES + 20));
        const durable = await disk.open(options, copy.dir).load();
        expect(durable.hardState, `STATE slot ${slot} damaged`).toEqual(vote);
      } finally {
        await copy.remove();
      }
    }
  });
  it('syncs the directory after each segment it deletes, oldest first, so a power loss leaves no gap', async () => {
    const storage = disk.open(options);
    await storage.load();
    for (let index = 1; index <= 40; index++)
      await storage.persist({ type: 'persist', entries: [commandEntry(index, 1)] });
    const dir = realpathSync(disk.dir);
    const segments = () =>
      readdirSync(dir)
        .filter((name) => /^wal-\d+\.log$/.test(name))
        .sort();
    const before = segments();
    expect(before.length).toBeGreaterThanOrEqual(3);
    // The segments each sync of the directory made durable: what a power loss right after it would keep.
    const synced: string[][] = [before];
    const uninstall = await wrapSyncs(async (_method, handle, original) => {
      await original.call(handle);
      if (!fstatSync(handle.fd).isDirectory()) return;
      if (realpathSync(`/proc/self/fd/${handle.fd}`) === dir) synced.push(segments());
    });
    try {
      await storage.persist({ type: 'persist', snapshot: await takeSnapshot(storage, 40) });
    } finally {
      uninstall();
    }
    const after = segments();
    expect(after.length).toBeLessThan(before.length - 1);
    // Between one durable listing and the next (or what is there now), at most one segment went, the oldest:
    // a deletion not yet synced is the only one a power loss can take back.
    const listings = [...synced, after];
    for (let i = 1; i < listings.length; i++) {
      const [previous, listing] = [listings[i - 1]!, listings[i]!];
      const gone = previous.filter((name) => !listing.includes(name));
      expect(gone.length, `listing ${i}: ${gone.join(', ')}`).toBeLessThanOrEqual(1);
      if (gone.length === 1) expect(gone[0]).toBe(previous[0]);
    }
  });
});
