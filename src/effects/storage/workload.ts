/**
 * The write load of the crash tests (a child process killed with SIGKILL, crash-writer.ts) and of the power
 * loss tests (in process, power-loss.ts): one entry per persist with several persists in flight, the term
 * moving every 100 entries (the first entry of a term carries the hard state of that term in the same
 * persist), and, with a snapshot interval, a snapshot (data `snapshotDataAt(index)`) after every that many
 * entries. Each acknowledgement is reported as a line: the entry's index once its persist resolved, `p<index>`
 * once a snapshot's data is written and its persist called, `s<index>` once that persist resolved.
 */
import type { Durable } from '../../core/index.js';
import type { DiskStorage } from './disk.js';
import type { PersistEffect } from './storage.js';
import { commandEntry, snapshotDataAt, testMembership, writeSnapshotData } from './test-support.js';

const IN_FLIGHT = 8;

/** The term of entry `index`: a new term every 100 entries. */
export const termOf = (index: number) => Math.ceil(index / 100);

export interface Workload {
  readonly maxEntries: number;
  /** Issues no persist after this time (ms since the epoch). */
  readonly deadline: number;
  /** Entries between snapshots; 0: none. */
  readonly snapshotInterval: number;
  readonly report: (line: string) => void;
}

/** Runs the load on a loaded storage, continuing the log `durable` holds; resolves once every persist settled. */
export async function runWorkload(
  storage: DiskStorage<string>,
  durable: Durable<string>,
  { maxEntries, deadline, snapshotInterval, report }: Workload,
): Promise<void> {
  const first = (durable.entries.at(-1)?.index ?? durable.snapshot?.meta.index ?? 0) + 1;
  const inFlight = new Set<Promise<void>>();
  const persistThenReport = async (effect: PersistEffect<string>, line: string, calledLine?: string) => {
    const acknowledged: Promise<void> = storage.persist(effect).then(() => {
      report(line);
      inFlight.delete(acknowledged);
    });
    if (calledLine !== undefined) report(calledLine);
    inFlight.add(acknowledged);
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  };
  for (let index = first; index < first + maxEntries && Date.now() < deadline; index++) {
    const term = termOf(index);
    const entry: PersistEffect<string> = {
      type: 'persist',
      ...(termOf(index - 1) !== term && { hardState: { term, votedFor: 'n1' } }),
      entries: [commandEntry(index, term)],
    };
    await persistThenReport(entry, `${index}`);
    if (snapshotInterval > 0 && index % snapshotInterval === 0) {
      const data = snapshotDataAt(index);
      const ref = await writeSnapshotData(storage.snapshots, data.subarray(0, 1024), data.subarray(1024));
      const meta = { index, term, membership: testMembership };
      await persistThenReport({ type: 'persist', snapshot: { meta, data: ref } }, `s${index}`, `p${index}`);
    }
  }
  await Promise.all(inFlight);
}
