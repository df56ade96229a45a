/**
 * An advisory lock that keeps two processes (or two storages in one process) from writing the same log
 * directory: a `LOCK` file naming its owner. Node has no flock(2), so the lock is a file, and a lock left by a
 * process that died (kill -9, power loss) must be told from a live one by its contents, never by a person:
 *
 *   `<pid> <start time> <boot id>`   the start time is field 22 of /proc/<pid>/stat (clock ticks since boot),
 *                                     the boot id /proc/sys/kernel/random/boot_id
 *
 * The owner is alive only if a process with that pid exists now, is not a zombie (a process killed a moment
 * ago stays one until its parent reaps it, and must not keep its successor down), started at the same tick
 * and in the same boot: a pid reused by an unrelated process, or after a reboot, is not the owner. Where there
 * is no /proc (not Linux), the lock holds the pid alone and `kill(pid, 0)` decides, which pid reuse can fool.
 *
 * A LOCK naming this process is held only if this process took it (see `held`): after a container restart the
 * node is often pid 1 again, and in a fresh pid namespace its start time may even match.
 */
import { readFileSync } from 'node:fs';
import { link, readdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export class DirectoryLockedError extends Error {
  override readonly name = 'DirectoryLockedError';
}

export interface DirectoryLock {
  release(): Promise<void>;
}

/** Who a LOCK names. `startTime` and `bootId` are null in a lock written without /proc. */
export interface LockOwner {
  readonly pid: number;
  readonly startTime: string | null;
  readonly bootId: string | null;
}

let tempCounter = 0;

/** The LOCK files this process holds (absolute paths). */
const held = new Set<string>();

/** For tests: pauses where another process could act. */
export interface LockHooks {
  /** Between finding LOCK stale and clearing it. */
  readonly beforeClearingStale?: () => Promise<void>;
  /** While clearing, with the LOCK found there moved aside and not yet judged. */
  readonly whileAside?: () => Promise<void>;
}

/** How long a release waits for its LOCK to come back from aside (see `removeOwnLock`), and how often it looks. */
const RELEASE_WAIT_MS = 10_000;
const RELEASE_POLL_MS = 5;

export async function acquireLock(dir: string, hooks: LockHooks = {}): Promise<DirectoryLock> {
  // By the directory's real path: two storages of this process reaching one directory by two names (a
  // symlink) must meet at one entry of `held`, or the second takes the first's lock for a stale one of its own.
  const lockPath = resolve(await realpath(dir), 'LOCK');
  // The owner is written to a private file first and then hard-linked into place, which fails atomically if
  // LOCK exists: so a LOCK never appears without its owner. Only a power loss (which also killed its writer)
  // can leave one empty, so an unreadable LOCK is stale.
  const temp = resolve(dir, `LOCK.${process.pid}.${tempCounter++}.tmp`);
  await writeFile(temp, formatOwner(ownerOf(process.pid)));
  try {
    // Two attempts: the second follows the removal of a stale lock.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await link(temp, lockPath);
        held.add(lockPath);
        let released = false;
        return {
          release: async () => {
            if (released) return;
            released = true;
            try {
              await removeOwnLock(lockPath);
            } finally {
              held.delete(lockPath);
            }
          },
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = await readOwner(lockPath);
      if (owner !== null && ownsLock(owner, lockPath)) {
        throw inUse(dir, owner, lockPath);
      }
      await hooks.beforeClearingStale?.();
      await clearStale(dir, lockPath, hooks);
    }
    throw new DirectoryLockedError(`${dir}: could not take ${lockPath} (another process keeps taking it)`);
  } finally {
    await rm(temp, { force: true });
  }
}

/**
 * Clears a LOCK found stale. Not by deleting LOCK: between the read that found it stale and the deletion,
 * another process clearing the same stale lock may have put its own fresh one there, and both would then go on
 * as owners (two writers of one log). LOCK is moved aside first, which takes whatever file is there at that
 * moment, and the file taken is judged again: a live lock is put back, and this process reports the directory in
 * use. A holder that releases in that moment finds its LOCK missing, and waits for it to come back to remove it
 * (`removeOwnLock`). (A third process linking its LOCK in the moment the live one is aside still wins beside
 * it: rarer by far, and beyond what a lock file can exclude without flock(2).)
 */
async function clearStale(dir: string, lockPath: string, hooks: LockHooks): Promise<void> {
  const aside = resolve(dir, `LOCK.${process.pid}.${tempCounter++}.stale`);
  try {
    await rename(lockPath, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // cleared by another: try to take it
    throw error;
  }
  try {
    await hooks.whileAside?.();
    const owner = await readOwner(aside);
    if (owner !== null && ownsLock(owner, lockPath)) {
      await link(aside, lockPath).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      throw inUse(dir, owner, lockPath);
    }
  } finally {
    await rm(aside, { force: true });
  }
}

/**
 * Removes the LOCK this process holds. Missing, it may be aside for a moment: another process that found an
 * older LOCK stale moved this one aside to judge it (`clearStale`, which names it `LOCK.<pid>.<n>.stale`), and
 * puts it back on finding this process alive. So while such a file is there, its return is waited for (for at
 * most RELEASE_WAIT_MS), and LOCK is removed once back; left there, it would name a live process that holds
 * nothing, and keep every other process out until this one exits. With no file aside, LOCK is simply gone.
 */
async function removeOwnLock(lockPath: string): Promise<void> {
  try {
    await rm(lockPath);
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const me = formatOwner(ownerOf(process.pid));
  const deadline = performance.now() + RELEASE_WAIT_MS;
  for (;;) {
    // The files aside first, LOCK next: the judge puts LOCK back before it removes its file.
    const aside = await anyAside(lockPath);
    const text = await readFile(lockPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (text !== null) {
      // Another's LOCK (one taken in the moment this one was aside) is not this process's to remove.
      if (text === me) await rm(lockPath, { force: true });
      return;
    }
    if (!aside || performance.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, RELEASE_POLL_MS));
  }
}

/** Whether a LOCK moved aside to be judged (`clearStale`) is in the directory of `lockPath`. */
async function anyAside(lockPath: string): Promise<boolean> {
  const names = await readdir(dirname(lockPath)).catch(() => []);
  return names.some((name) => /^LOCK\.\d+\.\d+\.stale$/.test(name));
}

function inUse(dir: string, owner: LockOwner, lockPath: string): DirectoryLockedError {
  return new DirectoryLockedError(
    `${dir} is in use by process ${owner.pid} (${lockPath}); if that process is not using it, remove the file`,
  );
}

/** Whether the process `owner` names is alive and is the one that wrote the lock. */
export function ownsLock(owner: LockOwner, lockPath: string): boolean {
  if (owner.pid === process.pid) return held.has(lockPath);
  const now = procStat(owner.pid);
  if (now === undefined) return isAlive(owner.pid); // no /proc here
  if (now === null || now.state === 'Z' || now.state === 'X') return false;
  if (owner.startTime !== null && owner.startTime !== now.startTime) return false;
  return owner.bootId === null || owner.bootId === bootId();
}

/** Who `pid` is, as a LOCK records it. */
export function ownerOf(pid: number): LockOwner {
  const stat = procStat(pid);
  return { pid, startTime: stat?.startTime ?? null, bootId: stat ? bootId() : null };
}

export function formatOwner({ pid, startTime, bootId }: LockOwner): string {
  return startTime === null ? `${pid}\n` : `${pid} ${startTime} ${bootId}\n`;
}

async function readOwner(lockPath: string): Promise<LockOwner | null> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (error) {
    // Released between our link attempt and this read: treat as stale, the retry will take it.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const [pidText, startTime, boot] = text.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  return { pid, startTime: startTime ?? null, bootId: boot ?? null };
}

/**
 * The state letter and start time of a process from /proc/<pid>/stat; null if there is no such process,
 * undefined if there is no /proc to ask.
 */
function procStat(pid: number): { state: string; startTime: string } | null | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return undefined;
    return procAvailable() ? null : undefined;
  }
  // "pid (command) state ppid ...": the command may hold spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, startTime] = [fields[0], fields[19]];
  return state === undefined || startTime === undefined ? undefined : { state, startTime };
}

function procAvailable(): boolean {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: checks existence only
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
