/** Helpers shared by the storage tests: temp directories, a recognizable log and recognizable snapshots. */
import { execFileSync } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry, Membership, Snapshot } from '../../core/index.js';
import type { SnapshotRef, SnapshotStore } from '../snapshot-data.js';

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

/** The membership in the snapshots the tests take. */
export const testMembership: Membership = { voters: ['n1'], learners: [] };

/** The snapshot data the tests and the crash writer take at `index`: recognizable, and some kilobytes long. */
export function snapshotDataAt(index: number): Uint8Array {
  return new TextEncoder().encode(`state through ${index};`.repeat(200));
}

/** Writes the chunks into a new snapshot in `store`; returns its ref. */
export async function writeSnapshotData(store: SnapshotStore, ...chunks: Uint8Array[]): Promise<SnapshotRef> {
  const writer = store.create();
  for (const chunk of chunks) await writer.write(chunk);
  return writer.finish();
}

/** The whole data of `snapshot`, read from `store`. */
export async function readSnapshotBytes(store: SnapshotStore, snapshot: Snapshot): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of store.read(snapshot)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** A copy of `bytes` with every bit of the byte at `offset` flipped. */
export function flipped<T extends Uint8Array>(bytes: T, offset: number): T {
  const copy = bytes.slice() as T;
  copy[offset] = copy[offset]! ^ 0xff;
  return copy;
}

/**
 * A tmpfs of `bytes` mounted on `at` (an existing directory, left in place when unmounted) or on a new one,
 * to fill up for real (ENOSPC); or, where that cannot be done (not root, no mount, not Linux), the reason, for
 * the test to skip with.
 */
export async function mountSmallTmpfs(
  bytes: number,
  at?: string,
): Promise<{ dir: string; unmount: () => Promise<void> } | { skip: string }> {
  if (process.platform !== 'linux') return { skip: 'a tmpfs needs Linux' };
  if (process.getuid?.() !== 0) return { skip: 'mounting a tmpfs needs root' };
  const dir = at ?? (await mkdtemp(join(tmpdir(), 'pureraft-tmpfs-')));
  const removeDir = () => (at === undefined ? rm(dir, { recursive: true, force: true }) : Promise.resolve());
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    await removeDir();
    return { skip: `mount -t tmpfs failed: ${(error as Error).message.split('\n')[0]}` };
  }
  return {
    dir,
    unmount: async () => {
      execFileSync('umount', ['-l', dir]);
      await removeDir();
    },
  };
}

/** Writes a file of zeros into `dir` until the disk is full; returns its path. */
export async function fillDisk(dir: string): Promise<string> {
  const path = join(dir, 'filler');
  const handle = await open(path, 'w');
  try {
    const chunk = new Uint8Array(4096);
    for (;;) await handle.write(chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    await handle.close();
  }
  return path;
}
