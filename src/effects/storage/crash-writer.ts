/**
 * A child process for the crash tests: opens a DiskStorage and runs the workload (workload.ts) on it, printing
 * each acknowledgement on its own line. The parent kills it with SIGKILL and checks that everything printed
 * survived.
 *
 * Usage: node --import tsx crash-writer.ts <dir> <max entries> <max milliseconds> [<snapshot interval>]
 * Writes to a pipe are synchronous on Linux, so a line the parent reads was printed after its persist resolved.
 */
import { DiskStorage } from './disk.js';
import { runWorkload } from './workload.js';

const [dir, maxEntries, maxMillis, snapshotInterval = '0'] = process.argv.slice(2);
if (dir === undefined || maxEntries === undefined || maxMillis === undefined) {
  throw new Error('usage: crash-writer.ts <dir> <max entries> <max milliseconds> [<snapshot interval>]');
}
const storage = new DiskStorage<string>(dir, { segmentBytes: 16 * 1024 });
await runWorkload(storage, await storage.load(), {
  maxEntries: Number(maxEntries),
  deadline: Date.now() + Number(maxMillis),
  snapshotInterval: Number(snapshotInterval),
  report: (line) => process.stdout.write(`${line}\n`),
});
await storage.close();
