/**
 * A child process for the crash tests: opens a DiskStorage, then persists one entry per call with several calls
 * in flight, printing each index on its own line once its persist resolved. With a snapshot interval, it also
 * takes a snapshot (data `snapshotDataAt(index)`) after every that many entries, prints `p<index>` once its
 * data is written and its persist called, and `s<index>` once that persist resolved. The parent kills it with SIGKILL and checks that everything printed survived. Entry i
 * has term ceil(i / 100), and the first entry of a term carries the hard state of that term in the same
 * persist.
 *
 * Usage: node --import tsx crash-writer.ts <dir> <max entries> <max milliseconds> [<snapshot interval>]
 * Writes to a pipe are synchronous on Linux, so a line the parent reads was printed after its persist resolved.
 */
import { DiskStorage } from './disk.js';
import type { PersistEffect } from './storage.js';
import { commandEntry, snapshotDataAt, testMembership, writeSnapshotData } from './test-support.js';

const [dir, maxEntries, maxMillis, snapshotInterval = '0'] = process.argv.slice(2);
if (dir === undefined || maxEntries === undefined || maxMillis === undefined) {
  throw new Error('usage: crash-writer.ts <dir> <max entries> <max milliseconds> [<snapshot interval>]');
}
const IN_FLIGHT = 8;
const storage = new DiskStorage<string>(dir, { segmentBytes: 16 * 1024 });
const durable = await storage.load();
const termOf = (index: number) => Math.ceil(index / 100);
const deadline = Date.now() + Number(maxMillis);
const first = (durable.entries.at(-1)?.index ?? durable.snapshot?.meta.index ?? 0) + 1;
const last = first - 1 + Number(maxEntries);
const inFlight = new Set<Promise<void>>();

/** Persists `effect` with the others in flight, printing `line` once it is durable. */
async function persistThenPrint(
  effect: PersistEffect<string>,
  line: string,
  calledLine?: string,
): Promise<void> {
  const acknowledged: Promise<void> = storage.persist(effect).then(() => {
    process.stdout.write(`${line}\n`);
    inFlight.delete(acknowledged);
  });
  if (calledLine !== undefined) process.stdout.write(`${calledLine}\n`);
  inFlight.add(acknowledged);
  if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
}

for (let index = first; index <= last && Date.now() < deadline; index++) {
  const term = termOf(index);
  const entry: PersistEffect<string> = {
    type: 'persist',
    ...(termOf(index - 1) !== term && { hardState: { term, votedFor: 'n1' } }),
    entries: [commandEntry(index, term)],
  };
  await persistThenPrint(entry, `${index}`);
  if (Number(snapshotInterval) > 0 && index % Number(snapshotInterval) === 0) {
    const data = snapshotDataAt(index);
    const ref = await writeSnapshotData(storage.snapshots, data.subarray(0, 1024), data.subarray(1024));
    const meta = { index, term, membership: testMembership };
    await persistThenPrint({ type: 'persist', snapshot: { meta, data: ref } }, `s${index}`, `p${index}`);
  }
}
await Promise.all(inFlight);
await storage.close();
