/**
 * The files of a data directory, and the one place that knows their names:
 * - `STATE` (state-file.ts): the directory's incarnation id and the hard state, in two slots;
 * - `wal-00000001.log`, `wal-00000002.log`, ...: segments of the write-ahead log, numbered without gaps from
 *   the first one still needed (compaction deletes the oldest), replayed in number order; each begins with a
 *   header (segment-header.ts);
 * - `<name>.new`: a STATE or segment being created, renamed into place once it is whole and synced;
 * - `snapshot-<index, 16 digits>.snap`: a snapshot's data followed by its trailer (snapshot-file.ts); the one
 *   with the highest index is current, and an older one is left only by a crash during compaction;
 * - `snapshot.tmp-<random>`: snapshot data being written, or written and not (yet) carried by a persist;
 * - `LOCK` (lock.ts), and nothing else that this module looks at.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface Segment {
  readonly number: number;
  readonly path: string;
}

export interface SnapshotFile {
  readonly index: number;
  readonly path: string;
}

export interface DataDirectory {
  /** In replay order. */
  readonly segments: readonly Segment[];
  /** Oldest first: the last is the current one. */
  readonly snapshots: readonly SnapshotFile[];
  /** Paths of snapshot data that no persist made current. */
  readonly temporaries: readonly string[];
  /** Paths of a STATE or a segment whose creation a crash interrupted. */
  readonly unfinished: readonly string[];
}

const SEGMENT_NAME = /^wal-(\d{8})\.log$/;
const SNAPSHOT_NAME = /^snapshot-(\d{16})\.snap$/;
const TEMPORARY_PREFIX = 'snapshot.tmp-';
const UNFINISHED_SUFFIX = '.new';
const STATE_NAME = 'STATE';

export function statePath(dir: string): string {
  return join(dir, STATE_NAME);
}

/** Where a file is written before it is renamed to `path`. */
export function unfinishedPath(path: string): string {
  return `${path}${UNFINISHED_SUFFIX}`;
}

export function segmentPath(dir: string, number: number): string {
  return join(dir, `wal-${String(number).padStart(8, '0')}.log`);
}

/** 16 digits hold every safe integer, so the names sort as their indices do. */
export function snapshotPath(dir: string, index: number): string {
  return join(dir, `snapshot-${String(index).padStart(16, '0')}.snap`);
}

/** A fresh name for snapshot data being written; random, so that it never collides with a leftover. */
export function temporarySnapshotName(): string {
  return `${TEMPORARY_PREFIX}${randomBytes(8).toString('hex')}`;
}

export async function scanDataDirectory(dir: string): Promise<DataDirectory> {
  const segments: Segment[] = [];
  const snapshots: SnapshotFile[] = [];
  const temporaries: string[] = [];
  const unfinished: string[] = [];
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const segment = SEGMENT_NAME.exec(name);
    const snapshot = SNAPSHOT_NAME.exec(name);
    if (segment !== null) segments.push({ number: Number(segment[1]), path });
    else if (snapshot !== null) snapshots.push({ index: Number(snapshot[1]), path });
    else if (name.startsWith(TEMPORARY_PREFIX)) temporaries.push(path);
    else if (name.endsWith(UNFINISHED_SUFFIX)) unfinished.push(path);
  }
  segments.sort((a, b) => a.number - b.number);
  snapshots.sort((a, b) => a.index - b.index);
  return { segments, snapshots, temporaries, unfinished };
}
