/**
 * A child process for the crash test: opens a DiskStorage, then persists one entry per call with several calls
 * in flight, printing each index on its own line once its persist resolved. The parent kills it with SIGKILL
 * and checks that every printed index survived. Entry i has term ceil(i / 100), and the first entry of a term
 * carries the hard state of that term in the same persist.
 *
 * Usage: node --import tsx crash-writer.ts <dir> <max entries> <max milliseconds>
 * Writes to a pipe are synchronous on Linux, so a line the parent reads was printed after its persist resolved.
 */
import { DiskStorage } from './disk.js';
import type { PersistEffect } from './storage.js';
import { commandEntry } from './test-support.js';

const [dir, maxEntries, maxMillis] = process.argv.slice(2);
if (dir === undefined || maxEntries === undefined || maxMillis === undefined) {
  throw new Error('usage: crash-writer.ts <dir> <max entries> <max milliseconds>');
}
const IN_FLIGHT = 8;
const storage = new DiskStorage<string>(dir, { segmentBytes: 16 * 1024 });
const durable = await storage.load();
const termOf = (index: number) => Math.ceil(index / 100);
const deadline = Date.now() + Number(maxMillis);
const last = durable.entries.length + Number(maxEntries);
const inFlight = new Set<Promise<void>>();
for (let index = durable.entries.length + 1; index <= last && Date.now() < deadline; index++) {
  const term = termOf(index);
  const effect: PersistEffect<string> = {
    type: 'persist',
    ...(termOf(index - 1) !== term && { hardState: { term, votedFor: 'n1' } }),
    entries: [commandEntry(index, term)],
  };
  const acknowledged: Promise<void> = storage.persist(effect).then(() => {
    process.stdout.write(`${index}\n`);
    inFlight.delete(acknowledged);
  });
  inFlight.add(acknowledged);
  if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
}
await Promise.all(inFlight);
await storage.close();
