/**
 * For tests: a simulated power loss, for the storage code of this process (Linux only: it finds a file handle's
 * path through /proc/self/fd).
 *
 * While installed, each successful fsync or fdatasync of a file records what that file (by inode) holds, and
 * each sync of a directory records the names it holds and their inodes: what a power loss cannot take back.
 * `image` writes what a disk could hold if the power failed at that moment: the names the directory last synced,
 * each with what its inode last synced, plus what was written since and not synced, as a crash may leave it:
 * - bytes appended since: a prefix of them reached the disk, the last sector of that prefix maybe torn (zeros);
 * - bytes rewritten in place (a header or STATE slot): each 512-byte sector old, new or torn, independently.
 * Unsynced appends land in order: the log's recovery refuses a bad record followed by a good one (see the
 * README), which a disk that reordered the sectors of one unsynced batch could also leave.
 */
import { fstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { type FileHandle, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const SECTOR_BYTES = 512;

/** A seeded generator of integers in [0, bound): mulberry32, so that a failing seed reproduces. */
export function seededRandom(seed: number): (bound: number) => number {
  let state = seed >>> 0;
  return (bound) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * bound);
  };
}

type SyncMethod = (this: FileHandle) => Promise<void>;

/**
 * Puts `wrap` around every file handle's `sync` and `datasync` in this process (it gets the method's name, the
 * handle and the method it replaces); returns how to put them back.
 */
export async function wrapSyncs(
  wrap: (method: 'sync' | 'datasync', handle: FileHandle, original: SyncMethod) => Promise<void>,
): Promise<() => void> {
  const probe = await open('/', 'r');
  const prototype = Object.getPrototypeOf(probe) as Record<'sync' | 'datasync', SyncMethod>;
  await probe.close();
  const original = { sync: prototype.sync, datasync: prototype.datasync };
  for (const method of ['sync', 'datasync'] as const) {
    prototype[method] = function (this: FileHandle) {
      return wrap(method, this, original[method]);
    };
  }
  return () => Object.assign(prototype, original);
}

export class PowerLoss {
  /** What each inode held at its last sync. */
  readonly #files = new Map<number, Buffer>();
  /** Each directory's names and their inodes at its last sync. */
  readonly #dirs = new Map<string, Map<string, number>>();
  #uninstall: () => void = () => {};

  /** Starts recording every sync in this process; `uninstall` stops it. */
  static async install(): Promise<PowerLoss> {
    const simulation = new PowerLoss();
    simulation.#uninstall = await wrapSyncs(async (_method, handle, original) => {
      await original.call(handle);
      simulation.#synced(handle.fd);
    });
    return simulation;
  }

  uninstall(): void {
    this.#uninstall();
  }

  /**
   * Writes into `into` (an empty directory) what `dir` could hold after a power loss now, choosing among the
   * possibilities with `random`. Everything is read at once, before anything is written.
   */
  async image(dir: string, into: string, random: (bound: number) => number): Promise<void> {
    const files: [string, Buffer][] = [];
    for (const [name, inode] of this.#dirs.get(dir) ?? []) {
      if (name.startsWith('LOCK')) continue; // the lock of a process that is gone
      const synced = this.#files.get(inode) ?? Buffer.alloc(0);
      files.push([name, afterCrash(synced, currentContent(join(dir, name), inode) ?? synced, random)]);
    }
    for (const [name, bytes] of files) await writeFile(join(into, name), bytes);
  }

  #synced(fd: number): void {
    const path = readlinkSync(`/proc/self/fd/${fd}`);
    const stats = fstatSync(fd);
    if (!stats.isDirectory()) {
      this.#files.set(stats.ino, readFileSync(path));
      return;
    }
    const names = new Map<string, number>();
    for (const name of readdirSync(path)) {
      try {
        names.set(name, statSync(join(path, name)).ino);
      } catch {
        // Deleted since the listing: it is not there.
      }
    }
    this.#dirs.set(path, names);
  }
}

/** What the file at `path` holds now, if it is still the same inode. */
function currentContent(path: string, inode: number): Buffer | null {
  try {
    return statSync(path).ino === inode ? readFileSync(path) : null;
  } catch {
    return null;
  }
}

/** What a crash can leave of a file that held `synced` at its last sync and `current` now. */
function afterCrash(synced: Buffer, current: Buffer, random: (bound: number) => number): Buffer {
  const common = Math.min(synced.length, current.length);
  const result = Buffer.from(current.subarray(0, common));
  for (let sector = 0; sector < common; sector += SECTOR_BYTES) {
    const end = Math.min(common, sector + SECTOR_BYTES);
    if (synced.subarray(sector, end).equals(current.subarray(sector, end))) continue;
    const choice = random(3);
    if (choice === 0) synced.copy(result, sector, sector, end);
    else if (choice === 1) result.fill(0, sector, end);
  }
  if (current.length <= synced.length) {
    // A truncation not synced: the file may still be as long as it was.
    const length = current.length + random(synced.length - current.length + 1);
    return Buffer.concat([result, synced.subarray(common, length)]);
  }
  const landed = random(current.length - common + 1);
  const appended = Buffer.from(current.subarray(common, common + landed));
  const lastSector = Math.floor((landed - 1) / SECTOR_BYTES) * SECTOR_BYTES;
  if (landed > 0 && random(2) === 0) appended.fill(0, lastSector);
  return Buffer.concat([result, appended]);
}
