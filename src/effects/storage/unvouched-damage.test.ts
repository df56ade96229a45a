/**
 * Past what a segment's header vouches for, a bad record may be a torn write, and is cut; but a crash leaves only
 * garbage after the last good record, so a bad record followed by a good one is damage, and refuses to load
 * rather than cut the acknowledged records after it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { StorageCorruptionError } from './corruption.js';
import { recordOffsets, useDiskFixture } from './disk-fixture.js';
import { segmentPath } from './layout.js';
import { commandEntry, flipped } from './test-support.js';

const disk = useDiskFixture();

describe('a crash, then damage inside the last batch, before records that are sound', () => {
  it('refuses to load, naming the file and the record, instead of cutting the acknowledged records after it', async () => {
    const options = { segmentBytes: 1024 * 1024, idleMarkMs: 1e9 };
    const storage = disk.open(options);
    await storage.load();
    await storage.persist({ type: 'persist', hardState: { term: 1, votedFor: 'n1' } });
    await storage.persist({ type: 'persist', entries: [commandEntry(1, 1)] });
    // One batch of five records, every one acknowledged; nothing after it vouches for it.
    await Promise.all(
      [2, 3, 4, 5, 6].map((index) => storage.persist({ type: 'persist', entries: [commandEntry(index, 1)] })),
    );
    await disk.crash(storage);
    const file = segmentPath(disk.dir, 1);
    const offsets = await recordOffsets(file);
    expect(offsets).toHaveLength(7);
    // The second record of the last batch (entry 3): entries 4 to 6 follow it, whole.
    const damagedAt = offsets[3]!;
    await writeFile(file, flipped(await readFile(file), damagedAt + 20));
    const error = await disk.loadError(options);
    expect(error).toBeInstanceOf(StorageCorruptionError);
    expect((error as StorageCorruptionError).file).toBe(file);
    expect((error as StorageCorruptionError).offset).toBe(damagedAt);
  });
});
