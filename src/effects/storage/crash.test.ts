import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Durable } from '../../core/index.js';
import { DiskStorage } from './disk.js';
import { commandEntry, makeTempDir } from './test-support.js';

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

/**
 * Runs the crash writer until it has acknowledged `acks` more entries, then kills it with SIGKILL.
 * Returns the acknowledged indices, and whether the kill (rather than the writer's own bounds) ended it.
 */
function writeUntilKilled(acks: number): Promise<{ acknowledged: number[]; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writerScript, dir, '1000000', '5000'], {
      cwd: repoRoot, // where `--import tsx` is resolved from
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acknowledged: number[] = [];
    let pending = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop()!;
      for (const line of lines) acknowledged.push(Number(line));
      if (acknowledged.length >= acks) child.kill('SIGKILL');
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    // 'close' comes after the process was reaped and its pipes drained: its pid is free, its lock stale.
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL' && code !== 0)
        reject(new Error(`crash writer exited with ${code}: ${stderr}`));
      else resolve({ acknowledged, killed: signal === 'SIGKILL' });
    });
  });
}

async function reopen(): Promise<Durable<string>> {
  const storage = new DiskStorage<string>(dir);
  try {
    return await storage.load();
  } finally {
    await storage.close();
  }
}

function expectSurvived(durable: Durable<string>, acknowledged: readonly number[]): void {
  const termOf = (index: number) => Math.ceil(index / 100);
  // Contiguous from 1, each entry what the writer wrote: nothing lost in the middle, nothing garbled.
  durable.entries.forEach((entry, position) => {
    expect(entry).toEqual(commandEntry(position + 1, termOf(position + 1)));
  });
  expect(durable.entries.length).toBeGreaterThanOrEqual(Math.max(...acknowledged));
  // The hard state travels in the same record as the first entry of its term, so it is never behind.
  expect(durable.hardState).toEqual({ term: termOf(durable.entries.length), votedFor: 'n1' });
}

describe('DiskStorage under kill -9', () => {
  it('keeps every acknowledged entry across repeated crashes', async () => {
    const first = await writeUntilKilled(300);
    expect(first.killed).toBe(true);
    expect(first.acknowledged).toEqual(Array.from({ length: first.acknowledged.length }, (_, i) => i + 1));
    const afterFirst = await reopen();
    expectSurvived(afterFirst, first.acknowledged);

    // The writer resumes from what recovery found, and a second crash keeps both runs' acknowledgements.
    const second = await writeUntilKilled(300);
    expect(second.killed).toBe(true);
    expect(second.acknowledged[0]).toBe(afterFirst.entries.length + 1);
    expectSurvived(await reopen(), [...first.acknowledged, ...second.acknowledged]);
  });
});
