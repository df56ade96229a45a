import { copyFile, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Durable, Snapshot } from '../../core/index.js';
import { jsonCodec } from '../binary.js';
import type { SnapshotRef } from '../snapshot-data.js';
import { StorageCorruptionError } from './corruption.js';
import type { DiskStorage } from './disk.js';
import { failWrites, useDiskFixture } from './disk-fixture.js';
import { crc32, encodeFrame } from './frame.js';
import { segmentPath, snapshotPath } from './layout.js';
import { encodePersistRecord } from './record.js';
import { SNAPSHOT_CHUNK_BYTES, sealSnapshotFile } from './snapshot-file.js';
import { applyPersist, initialHardState, type PersistEffect } from './storage.js';
import {
  commandEntry,
  readSnapshotBytes,
  snapshotDataAt,
  testMembership,
  writeSnapshotData,
} from './test-support.js';

const disk = useDiskFixture();

const hardState = { term: 1, votedFor: 'n1' };

const entriesFrom = (from: number, to: number, term = 1) =>
  Array.from({ length: to - from + 1 }, (_, i) => commandEntry(from + i, term));

/** A snapshot at `index` whose data `storage` wrote: `snapshotDataAt(index)`, in two chunks. */
async function takeSnapshot(storage: DiskStorage<string>, index: number, term = 1): Promise<Snapshot> {
  const data = snapshotDataAt(index);
  const ref = await writeSnapshotData(storage.snapshots, data.subarray(0, 1000), data.subarray(1000));
  return { meta: { index, term, membership: testMembership }, data: ref };
}

/** The ref that a reopened storage gives the snapshot at `index`. */
const loadedRef = (index: number): SnapshotRef => {
  const data = snapshotDataAt(index);
  return {
    kind: 'snapshot-ref',
    name: `snapshot-${String(index).padStart(16, '0')}.snap`,
    bytes: data.length,
    crc32: crc32(data),
  };
};

/** What applying `effects` in order gives, with the last snapshot's data as a reopened storage names it. */
function expectedAfter(effects: readonly PersistEffect<string>[]): Durable<string> {
  const durable = effects.reduce<Durable<string>>(applyPersist, { hardState: initialHardState, entries: [] });
  if (durable.snapshot === undefined) return durable;
  const { meta } = durable.snapshot;
  return { ...durable, snapshot: { meta, data: loadedRef(meta.index) } };
}

async function persistAll(
  storage: DiskStorage<string>,
  effects: readonly PersistEffect<string>[],
): Promise<void> {
  for (const effect of effects) await storage.persist(effect);
}

async function listDir(): Promise<string[]> {
  return (await readdir(disk.dir)).sort();
}

/** Every file's name and contents: to check that a refused open changed nothing. */
async function dirContents(): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of await listDir()) files.set(name, await readFile(join(disk.dir, name)));
  return files;
}

describe('DiskStorage snapshots round trip', () => {
  it('restores the snapshot and the log after it exactly, and serves its data before and after reopening', async () => {
    const storage = disk.open({ segmentBytes: 2048 });
    await storage.load();
    const effects: PersistEffect<string>[] = [
      { type: 'persist', hardState, entries: entriesFrom(1, 30) },
      { type: 'persist', snapshot: await takeSnapshot(storage, 20) },
      { type: 'persist', entries: entriesFrom(31, 35) },
      {
        type: 'persist',
        hardState: { term: 2, votedFor: null },
        truncateFrom: 34,
        entries: entriesFrom(34, 34, 2),
      },
    ];
    await persistAll(storage, effects);
    // Read through the ref the persist carried, whose temporary file was renamed since.
    expect(await readSnapshotBytes(storage.snapshots, effects[1]!.snapshot!)).toEqual(
      Buffer.from(snapshotDataAt(20)),
    );
    expect(storage.stats).toMatchObject({ snapshots: 1, snapshotBytes: snapshotDataAt(20).length });
    await storage.close();

    const expected = expectedAfter(effects);
    expect(expected.entries.map((entry) => entry.index)).toEqual([
      21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34,
    ]);
    const reopened = disk.open({ segmentBytes: 2048 });
    const durable = await reopened.load();
    expect(durable).toEqual(expected);
    expect(await readSnapshotBytes(reopened.snapshots, durable.snapshot!)).toEqual(
      Buffer.from(snapshotDataAt(20)),
    );
    await reopened.close();
    expect(await disk.reload()).toEqual(expected);
  });

  it('applies hard state, snapshot, truncation and entries of one persist, as a follower installing one does', async () => {
    const storage = disk.open();
    await storage.load();
    const effects: PersistEffect<string>[] = [
      { type: 'persist', hardState, entries: entriesFrom(1, 12) },
      {
        type: 'persist',
        hardState: { term: 3, votedFor: null },
        snapshot: await takeSnapshot(storage, 10, 2),
        truncateFrom: 11,
        entries: entriesFrom(11, 11, 3),
      },
      { type: 'persist', entries: entriesFrom(12, 13, 3) },
    ];
    await persistAll(storage, effects);
    await storage.close();
    const durable = await disk.reload();
    expect(durable).toEqual(expectedAfter(effects));
    expect(durable.entries).toEqual(entriesFrom(11, 13, 3));
  });

  it('continues after a snapshot past the last entry, across reopens', async () => {
    const storage = disk.open();
    await storage.load();
    const effects: PersistEffect<string>[] = [
      { type: 'persist', hardState: { term: 4, votedFor: null }, entries: entriesFrom(1, 3) },
      { type: 'persist', snapshot: await takeSnapshot(storage, 50, 4) },
    ];
    await persistAll(storage, effects);
    await storage.close();
    expect(await disk.reload()).toEqual(expectedAfter(effects));
    const reopened = disk.open();
    await reopened.load();
    const more: PersistEffect<string> = { type: 'persist', entries: entriesFrom(51, 52, 4) };
    await expect(reopened.persist({ type: 'persist', entries: entriesFrom(4, 4) })).rejects.toThrow(
      /last index is 50/,
    );
    await reopened.persist(more);
    await reopened.close();
    expect(await disk.reload()).toEqual(expectedAfter([...effects, more]));
  });
});

describe('DiskStorage compaction', () => {
  it('deletes the segments a snapshot covers and the snapshot it replaced, and keeps disk usage flat', async () => {
    const options = { segmentBytes: 4096 };
    const storage = disk.open(options);
    await storage.load();
    await storage.persist({ type: 'persist', hardState });
    const usage: { files: number; bytes: number }[] = [];
    for (let cycle = 1; cycle <= 40; cycle++) {
      const last = cycle * 25;
      for (let index = last - 24; index <= last; index++) {
        await storage.persist({ type: 'persist', entries: [commandEntry(index, 1)] });
      }
      // A snapshot a little behind the log, as a leader that keeps entries for slow followers takes them.
      await storage.persist({ type: 'persist', snapshot: await takeSnapshot(storage, last - 10) });
      const names = await listDir();
      const sizes = await Promise.all(names.map(async (name) => (await stat(join(disk.dir, name))).size));
      usage.push({ files: names.length, bytes: sizes.reduce((sum, size) => sum + size, 0) });
      const walSizes = names.flatMap((name, i) => (name.startsWith('wal-') ? [sizes[i]!] : []));
      expect(storage.stats.walBytesOnDisk).toBe(walSizes.reduce((sum, size) => sum + size, 0));
      expect(storage.stats.snapshotBytesOnDisk).toBe((await stat(snapshotPath(disk.dir, last - 10))).size);
      expect(names.filter((name) => name.startsWith('snapshot'))).toEqual([
        `snapshot-${String(last - 10).padStart(16, '0')}.snap`,
      ]);
    }
    // 1000 entries of ~120 bytes took ~30 segments; with compaction a few at most are left.
    expect(storage.stats.bytes).toBeGreaterThan(25 * 4096);
    expect(Math.max(...usage.map((u) => u.files))).toBeLessThanOrEqual(6);
    expect(Math.max(...usage.slice(10).map((u) => u.bytes))).toBeLessThanOrEqual(
      4 * 4096 + 2 * snapshotDataAt(1000).length,
    );
    await storage.close();

    const durable = await disk.reload(options);
    expect(durable).toEqual({
      hardState,
      entries: entriesFrom(991, 1000),
      snapshot: { meta: { index: 990, term: 1, membership: testMembership }, data: loadedRef(990) },
    });
  });

  it('keeps the hard state when the segments that held it are deleted', async () => {
    const options = { segmentBytes: 2048 };
    const storage = disk.open(options);
    await storage.load();
    await storage.persist({ type: 'persist', hardState: { term: 7, votedFor: 'n2' } });
    for (let index = 1; index <= 40; index++)
      await storage.persist({ type: 'persist', entries: [commandEntry(index, 1)] });
    await storage.persist({ type: 'persist', snapshot: await takeSnapshot(storage, 40) });
    await storage.close();
    // Every sealed segment was covered, the first one (which held the hard state) among them.
    const segments = (await listDir()).filter((name) => name.startsWith('wal-'));
    expect(segments).toHaveLength(1);
    expect(segments).not.toContain('wal-00000001.log');
    expect(await disk.reload(options)).toMatchObject({ hardState: { term: 7, votedFor: 'n2' }, entries: [] });
  });
  it('replays the segments a crash kept from compaction on top of the snapshot', async () => {
    const options = { segmentBytes: 2048 };
    const storage = disk.open(options);
    await storage.load();
    const effects: PersistEffect<string>[] = [{ type: 'persist', hardState }];
    for (let index = 1; index <= 40; index++)
      effects.push({ type: 'persist', entries: [commandEntry(index, 1)] });
    effects.push({ type: 'persist', hardState: { term: 2, votedFor: 'n3' }, truncateFrom: 31 });
    effects.push({ type: 'persist', entries: entriesFrom(31, 35, 2) });
    await persistAll(storage, effects);
    const before = await dirContents();
    const snapshot: PersistEffect<string> = { type: 'persist', snapshot: await takeSnapshot(storage, 33, 2) };
    await storage.persist(snapshot);
    await storage.close();
    const segments = [...before.keys()].filter((name) => name.startsWith('wal-'));
    const kept = (await listDir()).filter((name) => name.startsWith('wal-'));
    const deleted = segments.filter((name) => !kept.includes(name));
    expect(deleted.length).toBeGreaterThan(2);
    // Segments are deleted oldest first, so a crash leaves the newest of them: put the last two back.
    for (const name of deleted.slice(-2)) await writeFile(join(disk.dir, name), before.get(name)!);
    expect(await disk.reload(options)).toEqual(expectedAfter([...effects, snapshot]));
  });
});

describe('DiskStorage snapshot recovery', () => {
  /** A storage with entries 1..12 and a snapshot at 10, closed; returns the effects it persisted. */
  async function writeWithSnapshot(): Promise<PersistEffect<string>[]> {
    const storage = disk.open();
    await storage.load();
    const effects: PersistEffect<string>[] = [
      { type: 'persist', hardState, entries: entriesFrom(1, 12) },
      { type: 'persist', snapshot: await takeSnapshot(storage, 10) },
    ];
    await persistAll(storage, effects);
    await storage.close();
    return effects;
  }

  it('deletes leftover temporary data and a snapshot that a newer one replaced', async () => {
    const storage = disk.open();
    await storage.load();
    await storage.persist({ type: 'persist', hardState, entries: entriesFrom(1, 12) });
    await storage.persist({ type: 'persist', snapshot: await takeSnapshot(storage, 5) });
    await copyFile(snapshotPath(disk.dir, 5), join(disk.dir, 'old.copy'));
    const effects: PersistEffect<string>[] = [{ type: 'persist', snapshot: await takeSnapshot(storage, 10) }];
    await storage.persist(effects[0]!);
    await writeSnapshotData(storage.snapshots, snapshotDataAt(11)); // finished, carried by no persist
    await storage.snapshots.create().write(snapshotDataAt(12)); // never finished
    await storage.close();
    // A crash after snapshot 10 became current and before snapshot 5 was deleted leaves both.
    await copyFile(join(disk.dir, 'old.copy'), snapshotPath(disk.dir, 5));
    await rm(join(disk.dir, 'old.copy'));
    await writeFile(join(disk.dir, 'snapshot.tmp-leftover'), 'partial data');

    const durable = await disk.reload();
    expect(durable.snapshot).toEqual({
      meta: { index: 10, term: 1, membership: testMembership },
      data: loadedRef(10),
    });
    expect(durable.entries).toEqual(entriesFrom(11, 12));
    expect((await listDir()).filter((name) => !name.startsWith('wal-'))).toEqual([
      'STATE',
      'snapshot-0000000000000010.snap',
    ]);
  });

  it('refuses a snapshot whose data, trailer or length is damaged, naming the file, and deletes nothing', async () => {
    await writeWithSnapshot();
    const file = snapshotPath(disk.dir, 10);
    await writeFile(join(disk.dir, 'snapshot.tmp-leftover'), 'partial data');
    const good = await readFile(file);
    const damages: [string, (bytes: Buffer) => Buffer, RegExp][] = [
      ['data', (bytes) => flipByte(bytes, 100), /data checksum mismatch/],
      ['trailer', (bytes) => flipByte(bytes, bytes.length - 40), /trailer checksum mismatch/],
      ['footer', (bytes) => flipByte(bytes, bytes.length - 2), /bad magic number/],
      ['length', (bytes) => bytes.subarray(0, bytes.length - 1), /bad magic number/],
      ['data length', (bytes) => Buffer.concat([Buffer.of(1), bytes]), /the file holds/],
    ];
    for (const [part, damage, reason] of damages) {
      await writeFile(file, damage(good));
      const before = await dirContents();
      const error = await disk.loadError();
      expect(error, part).toBeInstanceOf(StorageCorruptionError);
      expect(error, part).toMatchObject({ file, message: expect.stringMatching(reason) });
      expect((error as Error).message).toContain(`corrupt snapshot: ${file}`);
      expect(await dirContents(), part).toEqual(before);
    }
    await writeFile(file, good);
    await expect(disk.reload()).resolves.toMatchObject({ snapshot: { meta: { index: 10 } } });
  });

  it('cuts the record of a snapshot persist that a crash stopped before its file was renamed', async () => {
    const effects = await writeWithSnapshot();
    // What steps 1 and 2 of a persist with a snapshot at 20 leave: a sealed temporary file, a synced record.
    const temporary = join(disk.dir, 'snapshot.tmp-crashed');
    const data = snapshotDataAt(20);
    await writeFile(temporary, data);
    const meta = { index: 20, term: 2, membership: testMembership };
    await sealSnapshotFile(temporary, meta, {
      kind: 'snapshot-ref',
      name: 'snapshot.tmp-crashed',
      bytes: data.length,
      crc32: crc32(data),
    });
    const segment = segmentPath(disk.dir, 1);
    const size = (await stat(segment)).size;
    const record = encodePersistRecord(
      {
        type: 'persist',
        hardState: { term: 2, votedFor: null },
        snapshot: { meta, data: null },
        truncateFrom: 21,
      },
      jsonCodec<string>(),
    );
    await writeFile(segment, encodeFrame(record), { flag: 'a' });

    expect(await disk.reload()).toEqual(expectedAfter(effects));
    expect((await stat(segment)).size).toBe(size);
    expect(await listDir()).not.toContain('snapshot.tmp-crashed');
  });

  it('loses a snapshot persist whole, its hard state too, when a crash comes before the file is renamed', async () => {
    // A follower installing a snapshot from a leader of a new term: a hard state, the snapshot and a truncation
    // in one persist. The crash (the directory as it is when the rename is about to happen) must leave the
    // state after the persists before it: not the new term with the old log.
    const storage = disk.open();
    await storage.load();
    const before: PersistEffect<string> = { type: 'persist', hardState, entries: entriesFrom(1, 5) };
    await storage.persist(before);
    const image = new Map<string, Buffer>();
    const snapshots = storage.snapshots as unknown as { install: () => Promise<void> };
    snapshots.install = async () => {
      for (const name of await readdir(disk.dir)) {
        if (name !== 'LOCK') image.set(name, await readFile(join(disk.dir, name)));
      }
      throw new Error('crashed before the rename');
    };
    const installed = storage.persist({
      type: 'persist',
      hardState: { term: 2, votedFor: null },
      snapshot: await takeSnapshot(storage, 10, 2),
      truncateFrom: 11,
    });
    await expect(installed).rejects.toThrow(/crashed before the rename/);
    await storage.close();
    for (const name of await readdir(disk.dir)) await rm(join(disk.dir, name));
    for (const [name, bytes] of image) await writeFile(join(disk.dir, name), bytes);
    expect(await disk.reload()).toEqual(expectedAfter([before]));
  });

  it('refuses a log whose records name a snapshot that is not there', async () => {
    await writeWithSnapshot();
    const storage = disk.open();
    await storage.load();
    await storage.persist({ type: 'persist', snapshot: await takeSnapshot(storage, 12) });
    await storage.persist({ type: 'persist', entries: entriesFrom(13, 13) });
    await storage.close();
    // Snapshot 10 was deleted when 12 became current: with 12 gone too, the log names a snapshot at 10 first.
    await rm(snapshotPath(disk.dir, 12));
    await expect(disk.open().load()).rejects.toMatchObject({
      name: 'StorageCorruptionError',
      file: segmentPath(disk.dir, 1),
      message: expect.stringMatching(
        /makes snapshot 10 current, but the current snapshot file is at index 0/,
      ),
    });
  });

  it('refuses a snapshot without a log beside it', async () => {
    await writeWithSnapshot();
    await rm(segmentPath(disk.dir, 1));
    await expect(disk.open().load()).rejects.toMatchObject({
      name: 'StorageCorruptionError',
      message: expect.stringMatching(/STATE is there, but no log segment is/),
    });
  });
});

describe('DiskStorage persist with a snapshot', () => {
  it('refuses a stale snapshot, plain data, an unknown ref and a ref another persist carries, changing nothing', async () => {
    const storage = disk.open();
    await storage.load();
    await storage.persist({ type: 'persist', hardState, entries: entriesFrom(1, 12) });
    await storage.persist({ type: 'persist', snapshot: await takeSnapshot(storage, 10) });
    const snapshot = await takeSnapshot(storage, 11);
    const { meta } = snapshot;
    await expect(
      storage.persist({ type: 'persist', snapshot: await takeSnapshot(storage, 10) }),
    ).rejects.toThrow(/snapshot at index 10 is not newer than the stored one at index 10/);
    await expect(storage.persist({ type: 'persist', snapshot: { meta, data: 'plain' } })).rejects.toThrow(
      /must carry a SnapshotRef/,
    );
    const unknown = { ...(snapshot.data as SnapshotRef), name: 'snapshot.tmp-unknown' };
    await expect(storage.persist({ type: 'persist', snapshot: { meta, data: unknown } })).rejects.toThrow(
      /not data finished by storage.snapshots/,
    );
    const first = storage.persist({ type: 'persist', snapshot });
    await expect(
      storage.persist({ type: 'persist', snapshot: { ...snapshot, meta: { ...meta, index: 12 } } }),
    ).rejects.toThrow(/not data finished by storage.snapshots that no other persist carries/);
    await first;
    expect(storage.stats.snapshots).toBe(2);
    await storage.close();
    expect((await disk.reload()).snapshot?.meta.index).toBe(11);
  });

  it('is a barrier: the persists before it are durable first, the ones after it wait, all resolve in order', async () => {
    const storage = disk.open();
    await storage.load();
    const snapshot = await takeSnapshot(storage, 40);
    const resolved: string[] = [];
    const persist = (name: string, effect: PersistEffect<string>) =>
      storage.persist(effect).then(() => resolved.push(name));
    const before = entriesFrom(1, 50).map((entry) =>
      persist(`${entry.index}`, { type: 'persist', entries: [entry] }),
    );
    const barrier = persist('snapshot', { type: 'persist', snapshot });
    const after = entriesFrom(51, 100).map((entry) =>
      persist(`${entry.index}`, { type: 'persist', entries: [entry] }),
    );
    await Promise.all([...before, barrier, ...after]);
    const expectedOrder = [
      ...entriesFrom(1, 50).map((e) => `${e.index}`),
      'snapshot',
      ...entriesFrom(51, 100).map((e) => `${e.index}`),
    ];
    expect(resolved).toEqual(expectedOrder);
    // One batch before, the barrier (its record and a compaction checkpoint at most), one batch after.
    expect(storage.stats.syncs).toBeLessThanOrEqual(4);
    await storage.close();
    expect((await disk.reload()).entries).toEqual(entriesFrom(41, 100));
  });
});

describe('DiskStorage snapshot data', () => {
  it('keeps data a transfer finished while another snapshot is persisted, so that it can still be persisted', async () => {
    // The race: the transport finishes a received snapshot and hands it to the node's queue; before the core
    // steps it, the node persists a snapshot of its own. The received data must survive that persist.
    const storage = disk.open();
    await storage.load();
    await storage.persist({ type: 'persist', hardState, entries: entriesFrom(1, 12) });
    const received = await takeSnapshot(storage, 12);
    const inProgress = storage.snapshots.create();
    await inProgress.write(snapshotDataAt(12));
    await storage.persist({ type: 'persist', snapshot: await takeSnapshot(storage, 10) });
    expect(await readSnapshotBytes(storage.snapshots, received)).toEqual(Buffer.from(snapshotDataAt(12)));
    await storage.persist({ type: 'persist', snapshot: received });
    // A writer in progress is left alone too; its data is released once its holder decides.
    const ref = await inProgress.finish();
    await storage.snapshots.release(ref);
    await storage.snapshots.release(ref); // releasing twice is fine
    await storage.snapshots.release(received.data as SnapshotRef); // the current snapshot's: stays
    expect((await listDir()).filter((name) => name.startsWith('snapshot'))).toEqual([
      'snapshot-0000000000000012.snap',
    ]);
    await storage.close();
    expect((await disk.reload()).snapshot).toEqual({
      meta: { index: 12, term: 1, membership: testMembership },
      data: loadedRef(12),
    });
  });

  it('deletes released data at once, and data no persist carried when it closes: disk use stays bounded', async () => {
    const storage = disk.open();
    await storage.load();
    await storage.persist({ type: 'persist', hardState, entries: entriesFrom(1, 40) });
    const snapshotFiles = async () => (await listDir()).filter((name) => name.startsWith('snapshot'));
    for (let index = 4; index <= 40; index += 4) {
      // A stale snapshot arrives and is released once the core has turned it down; a newer one is persisted.
      const stale = await takeSnapshot(storage, index - 1);
      await storage.snapshots.release(stale.data as SnapshotRef);
      await expect(readSnapshotBytes(storage.snapshots, stale)).rejects.toThrow(/no snapshot data for/);
      await storage.persist({ type: 'persist', snapshot: await takeSnapshot(storage, index) });
      expect(await snapshotFiles()).toHaveLength(1);
    }
    const unclaimed = await takeSnapshot(storage, 41);
    expect(await snapshotFiles()).toHaveLength(2);
    await storage.close();
    expect(await snapshotFiles()).toEqual(['snapshot-0000000000000040.snap']);
    await expect(readSnapshotBytes(storage.snapshots, unclaimed)).rejects.toThrow(/no snapshot data for/);
  });

  it('deletes aborted data, refuses writes before load, and aborts unfinished writers on close', async () => {
    const storage = disk.open();
    expect(() => storage.snapshots.create()).toThrow(/only while the storage is open/);
    await storage.load();
    const temporaries = async () => (await listDir()).filter((name) => name.startsWith('snapshot.tmp-'));
    const aborted = storage.snapshots.create();
    await aborted.write(snapshotDataAt(1));
    expect(await temporaries()).toHaveLength(1);
    await aborted.abort();
    await expect(aborted.write(snapshotDataAt(1))).rejects.toThrow(/finished or aborted/);
    const finished = storage.snapshots.create();
    await finished.write(snapshotDataAt(2));
    const ref = await finished.finish();
    await finished.abort();
    const snapshot = { meta: { index: 2, term: 1, membership: testMembership }, data: ref };
    await expect(readSnapshotBytes(storage.snapshots, snapshot)).rejects.toThrow(/no snapshot data for/);
    const abortedWhileFinishing = storage.snapshots.create();
    await abortedWhileFinishing.write(snapshotDataAt(3));
    const finishing = expect(abortedWhileFinishing.finish()).rejects.toThrow(/aborted/);
    await abortedWhileFinishing.abort();
    await finishing;
    const unfinished = storage.snapshots.create();
    await unfinished.write(snapshotDataAt(3));
    expect(await temporaries()).toHaveLength(1);
    await storage.close();
    await expect(unfinished.finish()).rejects.toThrow(/finished or aborted/);
    expect(await temporaries()).toEqual([]);
  });

  it('writes and reads back a 64 MiB snapshot in chunks of at most 64 KiB', async () => {
    const storage = disk.open();
    await storage.load();
    const pattern = Buffer.alloc(1024 * 1024, 'pureraft snapshot ');
    const chunks = 64;
    const writer = storage.snapshots.create();
    let expectedCrc = 0;
    for (let i = 0; i < chunks; i++) {
      pattern.writeUInt32LE(i, 0); // each chunk differs, so a misplaced one shows in the checksum
      await writer.write(pattern);
      expectedCrc = crc32(pattern, expectedCrc);
    }
    const ref = await writer.finish();
    expect(ref).toMatchObject({ bytes: chunks * pattern.length, crc32: expectedCrc });
    await storage.persist({
      type: 'persist',
      hardState,
      snapshot: { meta: { index: 1, term: 1, membership: testMembership }, data: ref },
    });
    await storage.close();

    const reopened = disk.open();
    const durable = await reopened.load();
    let bytes = 0;
    let crc = 0;
    let largest = 0;
    for await (const chunk of reopened.snapshots.read(durable.snapshot!)) {
      largest = Math.max(largest, chunk.length);
      bytes += chunk.length;
      crc = crc32(chunk, crc);
    }
    expect({ bytes, crc, largest }).toEqual({
      bytes: ref.bytes,
      crc: expectedCrc,
      largest: SNAPSHOT_CHUNK_BYTES,
    });
  });
});

function flipByte(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at]! ^= 0x01;
  return copy;
}

describe('DiskStorage reopened after failed writes', () => {
  it('holds exactly what was acknowledged, its snapshot included, and serves that snapshot again', async () => {
    const storage = disk.open({ segmentBytes: 4096 });
    await storage.load();
    const acknowledged: PersistEffect<string>[] = [
      { type: 'persist', hardState, entries: entriesFrom(1, 20) },
      { type: 'persist', snapshot: await takeSnapshot(storage, 15) },
      { type: 'persist', entries: entriesFrom(21, 25) },
    ];
    await persistAll(storage, acknowledged);
    const pending = await takeSnapshot(storage, 25);
    const restore = await failWrites();
    try {
      const failed = [
        storage.persist({
          type: 'persist',
          hardState: { term: 2, votedFor: null },
          entries: entriesFrom(26, 26, 2),
        }),
        storage.persist({ type: 'persist', snapshot: pending }),
      ];
      for (const outcome of await Promise.allSettled(failed)) {
        expect(outcome).toMatchObject({ status: 'rejected', reason: { cause: { code: 'ENOSPC' } } });
      }
      await expect(storage.reopen()).rejects.toMatchObject({ code: 'ENOSPC' });
    } finally {
      restore();
    }
    const durable = await storage.reopen();
    expect(durable).toEqual(expectedAfter(acknowledged));
    expect(await readSnapshotBytes(storage.snapshots, durable.snapshot!)).toEqual(
      Buffer.from(snapshotDataAt(15)),
    );
    // It goes on from there, and a restart finds the same.
    const next: PersistEffect<string> = { type: 'persist', entries: entriesFrom(26, 27, 1) };
    await storage.persist(next);
    await storage.close();
    expect(await disk.reload()).toEqual(expectedAfter([...acknowledged, next]));
  });
});
