import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../../core/index.js';
import type { SnapshotRef, SnapshotStore } from '../snapshot-data.js';
import { crc32 } from './frame.js';
import { MemoryStorage } from './memory.js';
import { initialHardState, type PersistEffect } from './storage.js';
import { commandEntry, readSnapshotBytes, testMembership, writeSnapshotData } from './test-support.js';

const entries = (from: number, to: number, term: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => commandEntry(from + i, term));
const bytes = (text: string) => new TextEncoder().encode(text);
const membership = testMembership;
const writeData = (store: SnapshotStore, ...chunks: string[]) =>
  writeSnapshotData(store, ...chunks.map(bytes));
const readAll = async (store: SnapshotStore, snapshot: Snapshot) =>
  (await readSnapshotBytes(store, snapshot)).toString();

describe('MemoryStorage snapshots', () => {
  it('keeps a persisted snapshot and what follows it, across a restart that shares its store', async () => {
    const storage = new MemoryStorage<string>();
    await storage.load();
    await storage.persist({
      type: 'persist',
      hardState: { term: 1, votedFor: 'n1' },
      entries: entries(1, 3, 1),
    });
    const ref = await writeData(storage.snapshots, 'state ', 'through 2');
    expect(ref).toEqual({
      kind: 'snapshot-ref',
      name: ref.name,
      bytes: 15,
      crc32: crc32(bytes('state through 2')),
    });
    const snapshot: Snapshot = { meta: { index: 2, term: 1, membership }, data: ref };
    await storage.persist({ type: 'persist', snapshot, entries: [commandEntry(4, 1)] });

    const restarted = new MemoryStorage(storage.durable, storage.snapshots);
    const durable = await restarted.load();
    expect(durable).toEqual({
      hardState: { term: 1, votedFor: 'n1' },
      entries: [commandEntry(3, 1), commandEntry(4, 1)],
      snapshot,
    });
    expect(await readAll(restarted.snapshots, durable.snapshot!)).toBe('state through 2');
  });

  it('keeps data no persist carried until it is released, drops what a newer snapshot replaced, and keeps the current one on abort', async () => {
    const storage = new MemoryStorage<string>();
    await storage.load();
    const stale = await writeData(storage.snapshots, 'stale');
    const aborted = storage.snapshots.create();
    await aborted.write(bytes('aborted'));
    const abortedRef = await aborted.finish();
    await aborted.abort();
    const staleSnapshot: Snapshot = { meta: { index: 1, term: 1, membership }, data: stale };
    await expect(readAll(storage.snapshots, staleSnapshot)).resolves.toBe('stale');
    await expect(readAll(storage.snapshots, { ...staleSnapshot, data: abortedRef })).rejects.toThrow(
      /no data/,
    );

    const writer = storage.snapshots.create();
    await writer.write(bytes('current'));
    const current: Snapshot = { meta: { index: 5, term: 1, membership }, data: await writer.finish() };
    await storage.persist({ type: 'persist', snapshot: current });
    await writer.abort();
    await storage.snapshots.release(current.data as SnapshotRef);
    await expect(readAll(storage.snapshots, current)).resolves.toBe('current');
    // A newer snapshot was persisted: data not yet released stays (it may be on its way to the core).
    await expect(readAll(storage.snapshots, staleSnapshot)).resolves.toBe('stale');
    await storage.snapshots.release(stale);
    await expect(readAll(storage.snapshots, staleSnapshot)).rejects.toThrow(/no data for snapshot ref/);
    const newer: Snapshot = {
      meta: { index: 6, term: 1, membership },
      data: await writeData(storage.snapshots, 'newer'),
    };
    await storage.persist({ type: 'persist', snapshot: newer });
    await expect(readAll(storage.snapshots, current)).rejects.toThrow(/no data for snapshot ref/);
    expect(storage.snapshots.size).toBe(1);
  });

  it('passes plain snapshot data through, but has no bytes to read for it', async () => {
    const storage = new MemoryStorage<string>();
    await storage.load();
    const snapshot: Snapshot = { meta: { index: 3, term: 1, membership }, data: { counter: 3 } };
    await storage.persist({ type: 'persist', snapshot });
    expect(storage.durable.snapshot).toEqual(snapshot);
    await expect(readAll(storage.snapshots, snapshot)).rejects.toThrow(/not a SnapshotRef/);
  });

  it('refuses a dangling ref or a stale snapshot, changing nothing', async () => {
    const storage = new MemoryStorage<string>();
    await storage.load();
    const dangling = { kind: 'snapshot-ref', name: 'elsewhere', bytes: 1, crc32: 0 };
    await expect(
      storage.persist({
        type: 'persist',
        snapshot: { meta: { index: 3, term: 1, membership }, data: dangling },
      }),
    ).rejects.toThrow(/no data for snapshot ref/);
    await storage.persist({
      type: 'persist',
      snapshot: { meta: { index: 3, term: 1, membership }, data: 'x' },
    });
    await expect(
      storage.persist({ type: 'persist', snapshot: { meta: { index: 3, term: 1, membership }, data: 'y' } }),
    ).rejects.toThrow(/not newer/);
    expect(storage.durable.snapshot?.data).toBe('x');
    expect(storage.persistCount).toBe(1);
  });
});

describe('MemoryStorage', () => {
  it('makes persisted effects durable, in the order given', async () => {
    const storage = new MemoryStorage<string>();
    expect(await storage.load()).toEqual({ hardState: initialHardState, entries: [] });
    const effects: PersistEffect<string>[] = [
      { type: 'persist', hardState: { term: 1, votedFor: 'a' }, entries: entries(1, 4, 1) },
      { type: 'persist', hardState: { term: 2, votedFor: null }, truncateFrom: 3, entries: entries(3, 3, 2) },
    ];
    await Promise.all(effects.map((effect) => storage.persist(effect)));
    expect(storage.durable).toEqual({
      hardState: { term: 2, votedFor: null },
      entries: [...entries(1, 2, 1), commandEntry(3, 2)],
    });
    expect(storage.persistCount).toBe(2);
  });

  it('restarts from what another one held', async () => {
    const first = new MemoryStorage<string>();
    await first.load();
    await first.persist({
      type: 'persist',
      hardState: { term: 4, votedFor: 'c' },
      entries: entries(1, 2, 4),
    });
    const restarted = new MemoryStorage(first.durable);
    expect(await restarted.load()).toEqual(first.durable);
  });

  it('rejects a gap, persist before load and persist after close', async () => {
    const storage = new MemoryStorage<string>();
    await expect(storage.persist({ type: 'persist', entries: [commandEntry(1, 1)] })).rejects.toThrow(
      /before load/,
    );
    await storage.load();
    await expect(storage.persist({ type: 'persist', entries: [commandEntry(2, 1)] })).rejects.toThrow(/gap/);
    expect(storage.durable.entries).toEqual([]);
    await storage.close();
    await expect(storage.persist({ type: 'persist', entries: [commandEntry(1, 1)] })).rejects.toThrow(
      /after close/,
    );
  });
});
