/** For tests of DiskStorage: a fresh directory for each test, and storages on it that are closed after it. */
import fs from 'node:fs';
import { open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { Durable } from '../../core/index.js';
import { DiskStorage, type DiskStorageOptions } from './disk.js';
import { readFrame } from './frame.js';
import { SEGMENT_HEADER_BYTES } from './segment-header.js';
import { makeTempDir } from './test-support.js';

export interface DiskFixture {
  /** This test's directory. */
  readonly dir: string;
  /** A storage on this test's directory, or on `otherDir`. */
  open(options?: DiskStorageOptions<string>, otherDir?: string): DiskStorage<string>;
  /** Opens, loads, closes: what a restart would see. */
  reload(options?: DiskStorageOptions<string>): Promise<Durable<string>>;
  /** What loading rejects with; null if it loads. */
  loadError(options?: DiskStorageOptions<string>): Promise<unknown>;
  /**
   * Leaves the directory as a kill -9 of `storage`'s process would: the files as they are now (what close would
   * still write never happens), and no lock held.
   */
  crash(storage: DiskStorage<string>): Promise<void>;
}

/** Call at the top of a test file or `describe`. */
export function useDiskFixture(): DiskFixture {
  let dir = '';
  let removeDir = async () => {};
  const opened: DiskStorage<string>[] = [];
  beforeEach(async () => {
    ({ dir, remove: removeDir } = await makeTempDir());
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((storage) => storage.close()));
    await removeDir();
  });
  const open = (options: DiskStorageOptions<string> = {}, otherDir = dir) => {
    const storage = new DiskStorage<string>(otherDir, options);
    opened.push(storage);
    return storage;
  };
  return {
    get dir() {
      return dir;
    },
    open,
    reload: async (options = {}) => {
      const storage = open(options);
      const durable = await storage.load();
      await storage.close();
      return durable;
    },
    crash: async (storage) => {
      const image = new Map<string, Buffer>();
      for (const name of await readdir(dir)) {
        if (name !== 'LOCK') image.set(name, await readFile(join(dir, name)));
      }
      await storage.close();
      for (const name of await readdir(dir)) await rm(join(dir, name));
      for (const [name, bytes] of image) await writeFile(join(dir, name), bytes);
    },
    loadError: (options = {}) =>
      open(options)
        .load()
        .then(
          () => null,
          (caught: unknown) => caught,
        ),
  };
}

/** Where each record of a segment file starts, in order. */
export async function recordOffsets(path: string): Promise<number[]> {
  const bytes = await readFile(path);
  const offsets: number[] = [];
  for (let offset = SEGMENT_HEADER_BYTES; offset < bytes.length; ) {
    const frame = readFrame(bytes, offset);
    if (!frame.ok) throw new Error(`${path}: no record at ${offset}: ${frame.reason}`);
    offsets.push(offset);
    offset = frame.end;
  }
  return offsets;
}

/**
 * Makes every file write in this process fail with ENOSPC until the returned function is called: a full disk,
 * without a mount.
 */
export async function failWrites(): Promise<() => void> {
  const probe = await open('/', 'r');
  const prototype = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<unknown> };
  await probe.close();
  const write = prototype.write;
  const writeSync = fs.writeSync;
  const full = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  prototype.write = () => Promise.reject(full());
  // The log writes its batches with writeSync (durable-fs.ts): named imports of node:fs see the change once
  // the builtin's ES exports are synced.
  fs.writeSync = () => {
    throw full();
  };
  syncBuiltinESMExports();
  return () => {
    prototype.write = write;
    fs.writeSync = writeSync;
    syncBuiltinESMExports();
  };
}
