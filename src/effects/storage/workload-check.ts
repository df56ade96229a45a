/** What the crash and power loss tests check after the workload (workload.ts) was cut short and reopened. */
import { expect } from 'vitest';
import type { Durable } from '../../core/index.js';
import { DiskStorage } from './disk.js';
import { commandEntry, readSnapshotBytes, snapshotDataAt, testMembership } from './test-support.js';
import { termOf } from './workload.js';

/** What one run of the workload acknowledged. */
export interface Acknowledged {
  /** The entry indices and snapshot indices whose persists were acknowledged, in order. */
  readonly entries: number[];
  readonly snapshots: number[];
  /** The snapshot indices whose persists were called. */
  readonly snapshotsCalled: number[];
}

export const nothingAcknowledged = (): Acknowledged => ({ entries: [], snapshots: [], snapshotsCalled: [] });

/** Records one line the workload reported. */
export function acknowledge(run: Acknowledged, line: string): void {
  if (line.startsWith('s')) run.snapshots.push(Number(line.slice(1)));
  else if (line.startsWith('p')) run.snapshotsCalled.push(Number(line.slice(1)));
  else run.entries.push(Number(line));
}

export interface Reopened {
  readonly durable: Durable<string>;
  /** The data of its snapshot (empty when there is none). */
  readonly snapshotData: Buffer;
}

/** What a restart on `dir` loads. */
export async function reopen(dir: string): Promise<Reopened> {
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

/**
 * The state after some prefix of the workload's persists that includes every acknowledged one: the snapshot is
 * one the workload took, no older than any acknowledged, with its data; the entries continue it without a gap
 * up to at least the last acknowledged, each what the workload wrote; the hard state is the last entry's term.
 */
export function expectSurvived({ durable, snapshotData }: Reopened, runs: readonly Acknowledged[]): void {
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
  expect(lastIndex).toBeGreaterThanOrEqual(Math.max(0, ...runs.flatMap((run) => run.entries)));
  expect(durable.hardState).toEqual(
    lastIndex === 0 ? { term: 0, votedFor: null } : { term: termOf(lastIndex), votedFor: 'n1' },
  );
}
