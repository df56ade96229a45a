import { appendFile, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Durable } from '../../core/index.js';
import { jsonCodec } from '../binary.js';
import { StorageCorruptionError } from './corruption.js';
import type { DiskStorage, DiskStorageOptions } from './disk.js';
import { recordOffsets, useDiskFixture } from './disk-fixture.js';
import { encodeFrame } from './frame.js';
import { segmentPath } from './layout.js';
import { DirectoryLockedError } from './lock.js';
import { encodePersistRecord } from './record.js';
import { SEGMENT_HEADER_BYTES } from './segment-header.js';
import { applyPersist, initialHardState, type PersistEffect } from './storage.js';
import { SyncFaults } from './sync-faults.js';
import { commandEntry, flipped } from './test-support.js';

const disk = useDiskFixture();
let faults: SyncFaults | undefined;
afterEach(() => {
  faults?.uninstall();
  faults = undefined;
});

/** Persists one entry per call, awaiting each, from `from` to `to` inclusive. */
async function appendEach(storage: DiskStorage<string>, from: number, to: number, term = 1): Promise<void> {
  for (let index = from; index <= to; index++) {
    await storage.persist({ type: 'persist', entries: [commandEntry(index, term)] });
  }
}

const expectedEntries = (to: number, term = 1) =>
  Array.from({ length: to }, (_, i) => commandEntry(i + 1, term));

describe('DiskStorage round trip', () => {
  it('loads an empty state from a new directory, creating it and its first segment', async () => {
    const nested = join(disk.dir, 'a', 'b');
    const storage = disk.open({}, nested);
    expect(await storage.load()).toEqual({ hardState: initialHardState, entries: [] });
    expect((await readdir(nested)).sort()).toEqual(['LOCK', 'STATE', 'wal-00000001.log']);
  });

  it('loads after reopening exactly what a mix of persists made durable', async () => {
    const effects: PersistEffect<string>[] = [
      { type: 'persist', hardState: { term: 1, votedFor: 'n1' } },
      {
        type: 'persist',
        entries: [{ index: 1, term: 1, kind: 'noop' }, commandEntry(2, 1), commandEntry(3, 1)],
      },
      {
        type: 'persist',
        entries: [
          commandEntry(4, 1),
          { index: 5, term: 1, kind: 'config', membership: { voters: ['a'], learners: [] } },
        ],
      },
      { type: 'persist', hardState: { term: 2, votedFor: null } },
      { type: 'persist', truncateFrom: 3, entries: [commandEntry(3, 2)] },
      { type: 'persist' },
      {
        type: 'persist',
        hardState: { term: 3, votedFor: 'n2' },
        truncateFrom: 99,
        entries: [commandEntry(4, 3)],
      },
      { type: 'persist', truncateFrom: 4 },
    ];
    const storage = disk.open();
    await storage.load();
    for (const effect of effects) await storage.persist(effect);
    await storage.close();
    const expected = effects.reduce<Durable<string>>(applyPersist, {
      hardState: initialHardState,
      entries: [],
    });
    expect(expected.entries.map((entry) => entry.index)).toEqual([1, 2, 3]);
    expect(await disk.reload()).toEqual(expected);
    // And once more, after a reopen that wrote nothing.
    expect(await disk.reload()).toEqual(expected);
  });

  it('rolls over to new segments past the size limit, and replays them all', async () => {
    const options = { segmentBytes: 2048 };
    const storage = disk.open(options);
    await storage.load();
    await appendEach(storage, 1, 40);
    await storage.persist({ type: 'persist', hardState: { term: 5, votedFor: 'n3' }, truncateFrom: 31 });
    await storage.close();
    const segments = (await readdir(disk.dir)).filter((name) => name.startsWith('wal-'));
    expect(segments.length).toBeGreaterThan(3);
    for (const name of segments) expect((await stat(join(disk.dir, name))).size).toBeLessThanOrEqual(2048);

    // Appending after a reopen continues in the last segment and rolls on from there.
    const reopened = disk.open(options);
    expect(await reopened.load()).toEqual({
      hardState: { term: 5, votedFor: 'n3' },
      entries: expectedEntries(30),
    });
    await appendEach(reopened, 31, 60, 5);
    await reopened.close();
    const durable = await disk.reload(options);
    expect(durable.entries).toEqual([...expectedEntries(30), ...expectedEntries(60, 5).slice(30)]);
  });

  it('keeps a batch larger than a segment whole in one segment', async () => {
    const storage = disk.open({ segmentBytes: 1100 });
    await storage.load();
    await storage.persist({ type: 'persist', entries: expectedEntries(20) });
    await storage.persist({ type: 'persist', entries: [commandEntry(21, 1)] });
    await storage.close();
    expect((await readdir(disk.dir)).filter((name) => name.startsWith('wal-'))).toHaveLength(2);
    expect((await disk.reload()).entries).toEqual(expectedEntries(21));
  });

  it('rejects a gap or a malformed entry without writing anything, and keeps working', async () => {
    const storage = disk.open();
    await storage.load();
    await appendEach(storage, 1, 2);
    await expect(storage.persist({ type: 'persist', entries: [commandEntry(4, 1)] })).rejects.toThrow(/gap/);
    await expect(
      storage.persist({ type: 'persist', entries: [{ index: 3, term: 1, kind: 'command' }] }),
    ).rejects.toThrow(/must have a command exactly when/);
    await appendEach(storage, 3, 3);
    expect(storage.stats.records).toBe(3);
    await storage.close();
    expect((await disk.reload()).entries).toEqual(expectedEntries(3));
  });

  it('refuses persist before load and after close, and a second load', async () => {
    const storage = disk.open();
    await expect(storage.persist({ type: 'persist', truncateFrom: 1 })).rejects.toThrow(/when new/);
    await storage.load();
    await expect(storage.load()).rejects.toThrow(/load called when open/);
    await storage.close();
    await expect(storage.persist({ type: 'persist', truncateFrom: 1 })).rejects.toThrow(/when closed/);
  });

  it('uses the codec from its options', async () => {
    const codec = jsonCodec<string>();
    let encoded = 0;
    const counting = {
      encode: (command: string) => {
        encoded++;
        return codec.encode(command);
      },
      decode: codec.decode,
    };
    const storage = disk.open({ codec: counting });
    await storage.load();
    await appendEach(storage, 1, 3);
    await storage.close();
    expect(encoded).toBe(3);
    expect((await disk.reload({ codec: counting })).entries).toEqual(expectedEntries(3));
  });
});

describe('DiskStorage group commit', () => {
  it('makes 100 concurrent persists durable with far fewer syncs, resolving them in order', async () => {
    const storage = disk.open();
    await storage.load();
    const resolved: number[] = [];
    const persists = Array.from({ length: 100 }, (_, i) =>
      storage
        .persist({ type: 'persist', entries: [commandEntry(i + 1, 1)] })
        .then(() => resolved.push(i + 1)),
    );
    await Promise.all(persists);
    expect(resolved).toEqual(expectedEntries(100).map((entry) => entry.index));
    expect(storage.stats.records).toBe(100);
    expect(storage.stats.syncs).toBeLessThanOrEqual(5);
    await storage.close();
    expect((await disk.reload()).entries).toEqual(expectedEntries(100));
  });

  it('gathers the calls made while a sync is in flight into the next batch', async () => {
    const storage = disk.open();
    await storage.load();
    const resolved: number[] = [];
    const persistAt = (index: number) =>
      storage
        .persist({ type: 'persist', entries: [commandEntry(index, 1)] })
        .then(() => resolved.push(index));
    const first = persistAt(1);
    // Let the first batch start its write and sync, then call 99 more while it is in flight.
    await new Promise((resolve) => setImmediate(resolve));
    const rest = Array.from({ length: 99 }, (_, i) => persistAt(i + 2));
    await Promise.all([first, ...rest]);
    expect(resolved).toEqual(expectedEntries(100).map((entry) => entry.index));
    expect(storage.stats.syncs).toBeLessThanOrEqual(3);
    expect(storage.stats.syncs).toBeGreaterThan(1);
  });

  it('waits for queued persists on close', async () => {
    const storage = disk.open();
    await storage.load();
    const persists = Array.from({ length: 10 }, (_, i) =>
      storage.persist({ type: 'persist', entries: [commandEntry(i + 1, 1)] }),
    );
    await Promise.all([storage.close(), storage.close()]);
    await Promise.all(persists);
    expect((await disk.reload()).entries).toEqual(expectedEntries(10));
  });
});

describe('DiskStorage after a failed write', () => {
  it('fails the batch and every later call, naming the file and the cause, until it reopens', async () => {
    const storage = disk.open({ segmentBytes: 1200 });
    await storage.load();
    await appendEach(storage, 1, 1);
    // With the directory gone, rolling over to a new segment fails.
    await rm(disk.dir, { recursive: true });
    const batch = [2, 3].map((index) =>
      storage.persist({ type: 'persist', entries: [commandEntry(index, 1)] }),
    );
    const failed = {
      message: expect.stringMatching(/could not create .*wal-00000002\.log\.new: ENOENT/),
      cause: { name: 'StorageWriteError', code: 'ENOENT' },
    };
    const outcomes = await Promise.allSettled(batch);
    for (const outcome of outcomes) expect(outcome).toMatchObject({ status: 'rejected', reason: failed });
    expect(storage.failure).toMatchObject({ code: 'ENOENT' });
    await expect(storage.persist({ type: 'persist', entries: [commandEntry(4, 1)] })).rejects.toMatchObject(
      failed,
    );
    // Reopening fails as long as the disk takes no writes, and leaves the storage failed.
    await expect(storage.reopen()).rejects.toMatchObject({ code: 'ENOENT' });
    expect(storage.failure).not.toBeNull();
    await storage.close();
  });

  it('reopens without a batch it rejected, even one whose records were synced before STATE failed', async () => {
    await expectRejectedVoteForgotten(async (persist) => {
      // The log writes on the calling thread and syncs; STATE writes through a FileHandle: only that fails.
      const probe = await open(disk.dir, 'r');
      const handles = Object.getPrototypeOf(probe) as { write: () => Promise<unknown> };
      await probe.close();
      const write = handles.write;
      handles.write = () =>
        Promise.reject(Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' }));
      try {
        await expect(persist()).rejects.toThrow(/could not write .*STATE: EIO/);
      } finally {
        handles.write = write;
      }
    });
  });

  it('reopens without the vote of a batch whose log sync failed, and STATE does not hold it either', async () => {
    // STATE takes a hard state only after the log's batch holding it is synced.
    await expectRejectedVoteForgotten(async (persist) => {
      faults = await SyncFaults.install();
      faults.failOnce((call) => call.method === 'datasync' && /wal-\d+\.log$/.test(call.path));
      await expect(persist()).rejects.toThrow(/EIO/);
    });
  });
});

/**
 * Persists a vote (term 1, for n1) with an entry, then a second vote (term 2, for n2) that `failing` makes
 * fail: the node was refused that vote and cannot have acted on it, so neither a reopen nor a restart may hand
 * it back.
 */
async function expectRejectedVoteForgotten(failing: (persist: () => Promise<void>) => Promise<void>) {
  const storage = disk.open();
  await storage.load();
  const kept: PersistEffect<string> = {
    type: 'persist',
    hardState: { term: 1, votedFor: 'n1' },
    entries: [commandEntry(1, 1)],
  };
  await storage.persist(kept);
  await failing(() =>
    storage.persist({
      type: 'persist',
      hardState: { term: 2, votedFor: 'n2' },
      entries: [commandEntry(2, 2)],
    }),
  );
  const expected = applyPersist({ hardState: initialHardState, entries: [] }, kept);
  expect(await storage.reopen()).toEqual(expected);
  await storage.close();
  expect(await disk.reload()).toEqual(expected);
}

describe('DiskStorage recovery', () => {
  const codec = jsonCodec<string>();
  const record = (effect: PersistEffect<string>) => encodeFrame(encodePersistRecord(effect, codec));

  /** Writes entries 1..count with one record each and closes; returns where each record starts. */
  async function writeLog(count: number, options: DiskStorageOptions<string> = {}): Promise<number[]> {
    const storage = disk.open(options);
    await storage.load();
    await appendEach(storage, 1, count);
    await storage.close();
    return recordOffsets(segmentPath(disk.dir, 1));
  }

  /** What a crash in the middle of writing entry `index` after a cleanly closed log leaves: `bytes` of it. */
  async function appendTorn(index: number, bytes: (whole: Uint8Array) => Uint8Array): Promise<void> {
    await appendFile(
      segmentPath(disk.dir, 1),
      bytes(record({ type: 'persist', entries: [commandEntry(index, 1)] })),
    );
  }

  it('cuts a record torn in the middle after the last sync, and appends where the good ones end', async () => {
    await writeLog(9);
    const file = segmentPath(disk.dir, 1);
    const size = (await stat(file)).size;
    await appendTorn(10, (whole) => whole.subarray(0, 40));
    expect((await disk.reload()).entries).toEqual(expectedEntries(9));
    expect((await stat(file)).size).toBe(size);
    const storage = disk.open();
    await storage.load();
    await appendEach(storage, 10, 12);
    await storage.close();
    expect((await disk.reload()).entries).toEqual(expectedEntries(12));
  });

  it('cuts a torn record header, a zero-filled tail, and a whole last record whose checksum fails', async () => {
    await writeLog(4);
    const file = segmentPath(disk.dir, 1);
    const size = (await stat(file)).size;
    const tails = [
      (whole: Uint8Array) => whole.subarray(0, 3),
      () => new Uint8Array(4096),
      (whole: Uint8Array) => flipped(whole, 30),
    ];
    for (const tail of tails) {
      await appendTorn(5, tail);
      expect((await disk.reload()).entries).toEqual(expectedEntries(4));
      expect((await stat(file)).size).toBe(size);
    }
  });

  it('refuses a flipped byte in the middle of a segment, naming file and offset, and changes no file', async () => {
    const offsets = await writeLog(10);
    const file = segmentPath(disk.dir, 1);
    const bytes = flipped(await readFile(file), offsets[4]! + 30);
    await writeFile(file, bytes);
    const error = await disk.loadError();
    expect(error).toBeInstanceOf(StorageCorruptionError);
    expect(error).toMatchObject({ file, offset: offsets[4] });
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toContain(`offset ${offsets[4]}`);
    expect(await readFile(file)).toEqual(bytes);
    // The lock was released: a second attempt fails the same way, not on the lock.
    await expect(disk.open().load()).rejects.toBeInstanceOf(StorageCorruptionError);
  });

  it('refuses a segment that is not the last cut short', async () => {
    await writeLog(30, { segmentBytes: 2048 });
    const first = segmentPath(disk.dir, 1);
    const lastInFirst = (await recordOffsets(first)).at(-1)!;
    await truncate(first, lastInFirst + 10);
    await expect(disk.open().load()).rejects.toMatchObject({
      file: first,
      offset: lastInFirst + 10,
      message: expect.stringMatching(/sealed at \d+ bytes, and the file has/),
    });
  });

  it('refuses a missing segment', async () => {
    await writeLog(30, { segmentBytes: 2048 });
    await rm(segmentPath(disk.dir, 2));
    await expect(disk.open().load()).rejects.toMatchObject({
      name: 'StorageCorruptionError',
      file: segmentPath(disk.dir, 3),
      message: expect.stringMatching(/segment 2 is missing/),
    });
  });

  it('refuses a log whose records are valid but do not replay contiguously', async () => {
    const [first] = await writeLog(1);
    const firstLength = record({ type: 'persist', entries: [commandEntry(1, 1)] }).length;
    await appendFile(segmentPath(disk.dir, 1), record({ type: 'persist', entries: [commandEntry(3, 1)] }));
    await expect(disk.open().load()).rejects.toMatchObject({
      name: 'StorageCorruptionError',
      offset: first! + firstLength,
      message: expect.stringMatching(/entry index 3 does not continue the log, whose last index is 1/),
    });
  });

  it('refuses a record with a good checksum that does not decode, even at the tail', async () => {
    await writeLog(0);
    await appendFile(segmentPath(disk.dir, 1), encodeFrame(Uint8Array.of(42)));
    await expect(disk.open().load()).rejects.toMatchObject({
      offset: SEGMENT_HEADER_BYTES,
      message: expect.stringMatching(/unknown record type 42/),
    });
  });
});

describe('DiskStorage lock', () => {
  it('refuses a directory another storage has open, until it is closed', async () => {
    const first = disk.open();
    await first.load();
    await expect(disk.open().load()).rejects.toBeInstanceOf(DirectoryLockedError);
    await first.close();
    await expect(disk.reload()).resolves.toEqual({ hardState: initialHardState, entries: [] });
  });

  it('takes over a lock left by a process that no longer exists', async () => {
    await writeFile(join(disk.dir, 'LOCK'), '2147483646\n');
    await expect(disk.reload()).resolves.toEqual({ hardState: initialHardState, entries: [] });
  });
});
