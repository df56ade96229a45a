import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from './test-support.js';
import {
  type Acknowledged,
  acknowledge,
  expectSurvived,
  nothingAcknowledged,
  reopen,
} from './workload-check.js';

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

interface Run extends Acknowledged {
  /** Whether the kill (rather than the writer's own bounds) ended it. */
  readonly killed: boolean;
}

/** Runs the crash writer until `done` says so of what it printed, then kills it with SIGKILL. */
function writeUntilKilled(done: (run: Acknowledged) => boolean, snapshotInterval = 0): Promise<Run> {
  return new Promise((resolve, reject) => {
    const args = [writerScript, dir, '1000000', '5000', String(snapshotInterval)];
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
      cwd: repoRoot, // where `--import tsx` is resolved from
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run = nothingAcknowledged();
    let pending = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop()!;
      for (const line of lines) acknowledge(run, line);
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

describe('DiskStorage under kill -9', () => {
  it('keeps every acknowledged entry across repeated crashes', async () => {
    const first = await writeUntilKilled((run) => run.entries.length >= 300);
    expect(first.killed).toBe(true);
    expect(first.entries).toEqual(Array.from({ length: first.entries.length }, (_, i) => i + 1));
    const afterFirst = await reopen(dir);
    expectSurvived(afterFirst, [first]);

    // The writer resumes from what recovery found, and a second crash keeps both runs' acknowledgements.
    const second = await writeUntilKilled((run) => run.entries.length >= 300);
    expect(second.killed).toBe(true);
    expect(second.entries[0]).toBe(afterFirst.durable.entries.length + 1);
    expectSurvived(await reopen(dir), [first, second]);
  });

  it('recovers a snapshot and the log after it, consistent with what was acknowledged, when killed while taking snapshots', async () => {
    const runs: Run[] = [];
    // Kills at acknowledgement counts that differ from round to round, and kills just after a snapshot persist
    // was called, so that they fall in all the steps of a snapshot persist and between them.
    const killPoints = [
      (run: Acknowledged) => run.entries.length + run.snapshots.length >= 157,
      (run: Acknowledged) => run.snapshotsCalled.length >= 5,
      (run: Acknowledged) => run.entries.length + run.snapshots.length >= 203,
      (run: Acknowledged) => run.snapshotsCalled.length >= 8,
      (run: Acknowledged) => run.entries.length + run.snapshots.length >= 251,
      (run: Acknowledged) => run.snapshotsCalled.length >= 3,
    ];
    for (const done of killPoints) {
      const run = await writeUntilKilled(done, 20);
      expect(run.killed).toBe(true);
      expect(run.snapshotsCalled.length).toBeGreaterThan(0);
      runs.push(run);
      expectSurvived(await reopen(dir), runs);
    }
    // Compaction kept up: a few segments, one snapshot, no leftovers (the reopen deleted them).
    const names = await readdir(dir);
    expect(names.filter((name) => name.startsWith('wal-')).length).toBeLessThanOrEqual(4);
    expect(names.filter((name) => name.startsWith('snapshot'))).toHaveLength(1);
  });
});
