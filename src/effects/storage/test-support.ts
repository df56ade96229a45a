/** Helpers shared by the storage tests: temp directories, a recognizable log and recognizable snapshots. */
import { mkdtemp, rm } from 'node:fs/promises';
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
