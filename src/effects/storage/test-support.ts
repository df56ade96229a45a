/** Helpers shared by the storage tests: temp directories and a recognizable log. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../../core/index.js';

/** A fresh directory under the OS temp dir, and its removal for `afterEach`. */
export async function makeTempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'pureraft-storage-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The command stored at `index` by tests and the crash writer, padded so that records have some weight. */
export function commandAt(index: number): string {
  return `command ${index} `.padEnd(100, '.');
}

export function commandEntry(index: number, term: number): Entry<string> {
  return { index, term, kind: 'command', command: commandAt(index) };
}
