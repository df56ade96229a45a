/**
 * Disk faults for a node process under test, loaded before the node with `node --import` (see cluster.ts);
 * never part of a node that is not under test. It reads its switches from `<$PURERAFT_FAULTS>/<node id>.json`
 * (rereading it at most every 20 ms, so a test turns faults on and off while the node runs):
 *
 *   { "fsyncDelayMs": 100 }        every fsync/fdatasync of the process takes that much longer: a slow disk
 *   { "ackBeforeFsync": true }     a deliberately broken node: storage reports a persist durable as soon as it
 *                                  is handed over, before it is written and synced (for the suite's own test)
 */
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskStorage } from '../../effects/storage/index.js';

export const FAULTS_ENV = 'PURERAFT_FAULTS';

export interface DiskFaults {
  readonly fsyncDelayMs?: number;
  readonly ackBeforeFsync?: boolean;
}

const directory = process.env[FAULTS_ENV];
const idAt = process.argv.indexOf('--id');
const id = idAt === -1 ? undefined : process.argv[idAt + 1];

if (directory !== undefined && id !== undefined) {
  const path = join(directory, `${id}.json`);
  let faults: DiskFaults = {};
  let readAt = Number.NEGATIVE_INFINITY;
  const current = (): DiskFaults => {
    if (performance.now() - readAt > 20) {
      readAt = performance.now();
      try {
        faults = JSON.parse(readFileSync(path, 'utf8')) as DiskFaults;
      } catch {
        faults = {}; // no file (yet), or caught mid-write: no faults
      }
    }
    return faults;
  };

  // FileHandle is not exported as a class: reach its prototype through a handle.
  const probe = await open(tmpdir(), 'r');
  const fileHandle = Object.getPrototypeOf(probe) as { datasync(): Promise<void>; sync(): Promise<void> };
  await probe.close();
  for (const method of ['datasync', 'sync'] as const) {
    const original = fileHandle[method];
    fileHandle[method] = async function (this: unknown) {
      const delay = current().fsyncDelayMs ?? 0;
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      return original.call(this);
    };
  }

  const persist = DiskStorage.prototype.persist;
  DiskStorage.prototype.persist = function (this: DiskStorage<unknown>, effect) {
    const durable = persist.call(this, effect);
    if (current().ackBeforeFsync !== true) return durable;
    durable.catch(() => {}); // a failure still stops the storage; the node just was not waiting
    return Promise.resolve();
  };
}
