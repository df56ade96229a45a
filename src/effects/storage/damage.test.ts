/**
 * The damage matrix: a log written and closed (so every byte of it was synced and vouched for), then damaged
 * one way at a time. Each damage either refuses to start, naming the file and the offset and changing no file,
 * or recovers exactly what was synced; never a shorter log, never an older vote.
 */
import { copyFile, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Durable } from '../../core/index.js';
import { StorageCorruptionError } from './corruption.js';
import { DiskStorage } from './disk.js';
import { recordOffsets, useDiskFixture } from './disk-fixture.js';
import { segmentPath, statePath } from './layout.js';
import { SEGMENT_HEADER_BYTES } from './segment-header.js';
import { SLOT_BYTES } from './slots.js';
import { applyPersist, initialHardState, type PersistEffect } from './storage.js';
import { commandEntry, flipped } from './test-support.js';

const SEGMENT_BYTES = 4096;
const PAGE_BYTES = 4096;

/** Three terms, a vote in each; the last record changes the term and the vote along with its entry. */
function history(): PersistEffect<string>[] {
  const effects: PersistEffect<string>[] = [];
  for (let index = 1; index <= 60; index++) {
    const term = index <= 20 ? 1 : index <= 59 ? 2 : 3;
    const first = index === 1 || index === 21 || index === 60;
    effects.push({
      type: 'persist',
      ...(first && { hardState: { term, votedFor: `n${term}` } }),
      entries: [commandEntry(index, term)],
    });
  }
  return effects;
}

const expected: Durable<string> = history().reduce<Durable<string>>(applyPersist, {
  hardState: initialHardState,
  entries: [],
});

let template: string;
let segments: string[];

beforeAll(async () => {
  template = await mkdtemp(join(tmpdir(), 'pureraft-damage-'));
  const storage = new DiskStorage<string>(template, { segmentBytes: SEGMENT_BYTES });
  await storage.load();
  for (const effect of history()) await storage.persist(effect);
  await storage.close();
  segments = (await readdir(template)).filter((name) => name.startsWith('wal-')).sort();
  expect(segments.length).toBeGreaterThanOrEqual(3);
});

afterAll(async () => {
  await rm(template, { recursive: true, force: true });
});

const disk = useDiskFixture();

/** This test's directory, a copy of the template with `damage` done to it. */
async function damaged(damage: (dir: string) => Promise<void>): Promise<void> {
  for (const name of await readdir(template)) await copyFile(join(template, name), join(disk.dir, name));
  await damage(disk.dir);
}

async function contents(): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of (await readdir(disk.dir)).sort()) files.set(name, await readFile(join(disk.dir, name)));
  return files;
}

/** Loading refuses, with a StorageCorruptionError naming `file` (and `offset`, if given), changing no file. */
async function expectRefused(what: string, file: string, offset?: number): Promise<void> {
  const before = await contents();
  const error = await disk.loadError({ segmentBytes: SEGMENT_BYTES });
  expect(error, what).toBeInstanceOf(StorageCorruptionError);
  expect((error as StorageCorruptionError).file, what).toBe(file);
  if (offset !== undefined) expect((error as StorageCorruptionError).offset, what).toBe(offset);
  expect((error as Error).message, what).toContain(file);
  expect(await contents(), what).toEqual(before);
}

async function expectExact(what: string): Promise<void> {
  expect(await disk.reload({ segmentBytes: SEGMENT_BYTES }), what).toEqual(expected);
}

const lastSegment = () => segmentPath(disk.dir, segments.length);

async function flipAt(file: string, offset: number): Promise<void> {
  await writeFile(file, flipped(await readFile(file), offset));
}

async function zeroPage(file: string, offset: number): Promise<void> {
  const bytes = await readFile(file);
  bytes.fill(0, offset, Math.min(bytes.length, offset + PAGE_BYTES));
  await writeFile(file, bytes);
}

describe('a damaged data directory', () => {
  it('loads exactly what was written when nothing is damaged', async () => {
    await damaged(async () => {});
    await expectExact('undamaged');
  });

  it('refuses when the last segment is deleted', async () => {
    const previous = segmentPath(disk.dir, segments.length - 1);
    await damaged((dir) => rm(segmentPath(dir, segments.length)));
    await expectRefused('last segment deleted', previous);
    await expect(disk.loadError()).resolves.toMatchObject({
      message: expect.stringMatching(/sealed, so a segment \d+ was made after it, and that one is missing/),
    });
  });

  it('refuses when every segment is deleted', async () => {
    await damaged(async (dir) => {
      for (const name of segments) await rm(join(dir, name));
    });
    await expectRefused('every segment deleted', disk.dir);
  });

  it('refuses a zeroed page anywhere in any segment, the small last one included', async () => {
    for (const name of segments) {
      const file = join(disk.dir, name);
      const size = (await readFile(join(template, name))).length;
      for (let offset = 0; offset < size; offset += PAGE_BYTES) {
        await damaged(() => zeroPage(file, offset));
        await expectRefused(`${name} zeroed at ${offset}`, file);
      }
    }
  });

  /** Offsets in every region of a record at `start` ending at `end`: its length, its checksum, its payload. */
  const regions = (start: number, end: number) => [
    start,
    start + 3,
    start + 4,
    start + 7,
    start + 8,
    Math.floor((start + 8 + end) / 2),
    end - 1,
  ];

  it('refuses a flipped byte in every region of the last record, naming where the record starts', async () => {
    await damaged(async () => {});
    const file = lastSegment();
    const last = (await recordOffsets(file)).at(-1)!;
    for (const offset of regions(last, (await readFile(file)).length)) {
      await damaged(() => flipAt(file, offset));
      await expectRefused(`last record, byte ${offset}`, file, last);
    }
  });

  it('refuses a flipped byte in every region of synced records throughout the log', async () => {
    await damaged(async () => {});
    for (const name of segments) {
      const file = join(disk.dir, name);
      const starts = await recordOffsets(file);
      const ends = [...starts.slice(1), (await readFile(file)).length];
      // Every eighth record of every segment, and the first and last of each.
      const picked = starts.flatMap((start, i) =>
        i % 8 === 0 || i === starts.length - 1 ? [[start, ends[i]!] as const] : [],
      );
      for (const [start, end] of picked) {
        for (const offset of regions(start, end)) {
          await damaged(() => flipAt(file, offset));
          await expectRefused(`${name} record at ${start}, byte ${offset}`, file, start);
        }
      }
    }
  });

  it('refuses a segment cut short inside what was synced', async () => {
    await damaged(async () => {});
    const file = lastSegment();
    const last = (await recordOffsets(file)).at(-1)!;
    for (const length of [0, SEGMENT_HEADER_BYTES, last, last + 1]) {
      await damaged(() => truncate(file, length));
      await expectRefused(`last segment cut to ${length}`, file);
    }
  });

  it('recovers exactly from one damaged slot of a segment header, sealed or last, and refuses both', async () => {
    for (const file of [segmentPath(disk.dir, 1), lastSegment()]) {
      for (const offset of [3, SLOT_BYTES + 3]) {
        await damaged(() => flipAt(file, offset));
        await expectExact(`${file}: header slot byte ${offset}`);
      }
    }
    const file = segmentPath(disk.dir, 1);
    await damaged(async () => {
      await flipAt(file, 3);
      await flipAt(file, SLOT_BYTES + 3);
    });
    await expectRefused('both header slots', file, 0);
  });

  it('recovers exactly from one damaged slot of STATE, or STATE cut to one slot, and refuses less', async () => {
    const state = statePath(disk.dir);
    const oneSlot: [string, (dir: string) => Promise<void>][] = [
      ['slot 0 flipped', () => flipAt(state, 10)],
      ['slot 1 flipped', () => flipAt(state, SLOT_BYTES + 10)],
      ['cut to one slot', () => truncate(state, SLOT_BYTES)],
    ];
    for (const [what, damage] of oneSlot) {
      await damaged(damage);
      await expectExact(what);
    }
    for (const length of [0, 8, 30]) {
      await damaged(() => truncate(state, length));
      // Cut inside the first slot's record, with the second gone: no copy of the hard state is left in STATE.
      await expectRefused(`STATE cut to ${length}`, state, 0);
    }
    await damaged(() => rm(state));
    await expectRefused('STATE deleted', state, 0);
  });

  it('refuses a segment from another directory', async () => {
    const other = await mkdtemp(join(tmpdir(), 'pureraft-damage-other-'));
    try {
      const storage = new DiskStorage<string>(other, { segmentBytes: SEGMENT_BYTES });
      await storage.load();
      for (const effect of history()) await storage.persist(effect);
      await storage.close();
      await damaged(() => copyFile(segmentPath(other, 2), segmentPath(disk.dir, 2)));
      await expectRefused('a segment of another incarnation', segmentPath(disk.dir, 2), 0);
      await expect(disk.loadError()).resolves.toMatchObject({
        message: expect.stringMatching(/incarnation/),
      });
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

describe('a crash, then damage to the last batch (which nothing after it vouches for)', () => {
  it('cuts that batch, and keeps the vote and term it wrote', async () => {
    const storage = disk.open({ segmentBytes: SEGMENT_BYTES, idleMarkMs: 1e9 });
    await storage.load();
    for (const effect of history()) await storage.persist(effect);
    await disk.crash(storage);
    const file = lastSegment();
    const last = (await recordOffsets(file)).at(-1)!;
    await flipAt(file, last + 20);
    const durable = await disk.reload({ segmentBytes: SEGMENT_BYTES });
    // The entry of the last record is gone on this node (as an unsynced one would be); its vote is not.
    expect(durable.entries).toEqual(expected.entries.slice(0, -1));
    expect(durable.hardState).toEqual({ term: 3, votedFor: 'n3' });
  });
});
