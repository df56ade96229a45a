/** For tests of DiskStorage: a fresh directory for each test, and storages on it that are closed after it. */
import { afterEach, beforeEach } from 'vitest';
import type { Durable } from '../../core/index.js';
import { DiskStorage, type DiskStorageOptions } from './disk.js';
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
    loadError: (options = {}) =>
      open(options)
        .load()
        .then(
          () => null,
          (caught: unknown) => caught,
        ),
  };
}
