import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Durable } from '../../core/index.js';
import { DiskStorage } from './disk.js';
import {
  commandEntry,
  makeTempDir,
  readSnapshotBytes,
  snapshotDataAt,
  testMembership,
} from './test-support.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..');
const writerScript = join(here, 'crash-writer.ts');

let dir: string;
let removeDir: () => Promise<void>;

beforeEach(async () => {
  ({ dir, remove: removeDir } = await makeTempDir());
});

afterEach(async () => {
  await removeDir();
});

interface Run {
  /** The entry indices and snapshot indices whose persists the writer acknowledged, in order. */
  readonly entries: number[];
  readonly snapshots: number[];
  /** The snapshot indices whose persists the writer called. */
  readonly snapshotsCalled: number[];
  /** Whether the kill (rather than the writer's own bounds) ended it. */
  readonly killed: boolean;
}

/** Runs the crash writer until `done` says so of what it printed, then kills it with SIGKILL. */
function writeUntilKilled(done: (run: Run) => boolean, snapshotInterval = 0): Promise<Run> {
  return new Promise((resolve, reject) => {
    const args = [writerScript, dir, '1000000', '5000', String(snapshotInterval)];
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
      cwd: repoRoot, // where `--import tsx` is resolved from
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run: Run = { entries: [], snapshots: [], snapshotsCalled: [], killed: false };
    let pending = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('s')) run.snapshots.push(Number(line.slice(1)));
        else if (line.startsWith('p')) run.snapshotsCalled.push(Number(line.slice(1)));
        else run.entries.push(Number(line));
      }
      if (done(run)) child.kill('SIGKILL');
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    // 'close' comes after the process was reaped and its pipes drained: its pid is free, its lock stale.
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL' && code !== 0)
        reject(new Error(`crash writer exited with ${code}: ${stderr}`));
      else resolve({ ...run, killed: signal === 'SIGKILL' });
    });
  });
}

/** What a restart loads, and the data of its snapshot (empty when there is none). */
async function reopen(): Promise<{ durable: Durable<string>; snapshotData: Buffer }> {
  const storage = new DiskStorage<string>(dir);
  try {
    const durable = await storage.load();
    const snapshotData =
      durable.snapshot === undefined
        ? Buffer.alloc(0)
        : await readSnapshotBytes(storage.snapshots, durable.snapshot);
    return { durable, snapshotData };
  } finally {
    await storage.close();
  }
}

const termOf = (index: number) => Math.ceil(index / 100);

/**
 * The state after some prefix of the writer's persists that includes every acknowledged one: the snapshot is
 * one the writer took, no older than any acknowledged, with its data; the entries continue it without a gap up
 * to at least the last acknowledged, each what the writer wrote; the hard state is the last entry's term.
 */
function expectSurvived(
  { durable, snapshotData }: { durable: Durable<string>; snapshotData: Buffer },
  runs: readonly Run[],
): void {
  const snapshotIndex = durable.snapshot?.meta.index ?? 0;
  expect(snapshotIndex).toBeGreaterThanOrEqual(Math.max(0, ...runs.flatMap((run) => run.snapshots)));
  if (durable.snapshot !== undefined) {
    expect(durable.snapshot.meta).toEqual({
      index: snapshotIndex,
      term: termOf(snapshotIndex),
      membership: testMembership,
    });
    expect(snapshotData).toEqual(Buffer.from(snapshotDataAt(snapshotIndex)));
  }
  durable.entries.forEach((entry, position) => {
    const index = snapshotIndex + 1 + position;
    expect(entry).toEqual(commandEntry(index, termOf(index)));
  });
  const lastIndex = snapshotIndex + durable.entries.length;
  expect(lastIndex).toBeGreaterThanOrEqual(Math.max(...runs.flatMap((run) => run.entries)));
  expect(durable.hardState).toEqual({ term: termOf(lastIndex), votedFor: 'n1' });
}

describe('DiskStorage under kill -9', () => {
  it('keeps every acknowledged entry across repeated crashes', async () => {
    const first = await writeUntilKilled((run) => run.entries.length >= 300);
    expect(first.killed).toBe(true);
    expect(first.entries).toEqual(Array.from({ length: first.entries.length }, (_, i) => i + 1));
    const afterFirst = await reopen();
    expectSurvived(afterFirst, [first]);

    // The writer resumes from what recovery found, and a second crash keeps both runs' acknowledgements.
    const second = await writeUntilKilled((run) => run.entries.length >= 300);
    expect(second.killed).toBe(true);
    expect(second.entries[0]).toBe(afterFirst.durable.entries.length + 1);
    expectSurvived(await reopen(), [first, second]);
  });

  it('recovers a snapshot and the log after it, consistent with what was acknowledged, when killed while taking snapshots', async () => {
    const runs: Run[] = [];
    // Kills at acknowledgement counts that differ from round to round, and kills just after a snapshot persist
    // was called, so that they fall in all the steps of a snapshot persist and between them.
    const killPoints = [
      (run: Run) => run.entries.length + run.snapshots.length >= 157,
      (run: Run) => run.snapshotsCalled.length >= 5,
      (run: Run) => run.entries.length + run.snapshots.length >= 203,
      (run: Run) => run.snapshotsCalled.length >= 8,
      (run: Run) => run.entries.length + run.snapshots.length >= 251,
      (run: Run) => run.snapshotsCalled.length >= 3,
    ];
    for (const done of killPoints) {
      const run = await writeUntilKilled(done, 20);
      expect(run.killed).toBe(true);
      expect(run.snapshotsCalled.length).toBeGreaterThan(0);
      runs.push(run);
      expectSurvived(await reopen(), runs);
    }
    // Compaction kept up: a few segments, one snapshot, no leftovers (the reopen deleted them).
    const names = await readdir(dir);
    expect(names.filter((name) => name.startsWith('wal-')).length).toBeLessThanOrEqual(4);
    expect(names.filter((name) => name.startsWith('snapshot'))).toHaveLength(1);
  });
});
