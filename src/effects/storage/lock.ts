/**
 * An advisory lock that keeps two processes (or two storages in one process) from writing the same log
 * directory: a `LOCK` file holding the owner's pid. A lock left by a process that died (kill -9, power loss)
 * is stale and taken over, so a crash never needs a human to restart. A LOCK naming this process's own pid is
 * held only if this process took it (see `held`): after a container restart the node is often pid 1 again,
 * and the LOCK its previous incarnation left names that same pid.
 */
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';

export class DirectoryLockedError extends Error {
  override readonly name = 'DirectoryLockedError';
}

export interface DirectoryLock {
  release(): Promise<void>;
}

let tempCounter = 0;

/** The LOCK files this process holds (absolute paths). */
const held = new Set<string>();

export async function acquireLock(dir: string): Promise<DirectoryLock> {
  const lockPath = resolve(dir, 'LOCK');
  // The pid is written to a private file first and then hard-linked into place, which fails atomically if
  // LOCK exists: so a LOCK never appears without its pid. Only a power loss (which also killed its writer) can
  // leave one empty, so an unreadable LOCK is stale.
  const temp = resolve(dir, `LOCK.${process.pid}.${tempCounter++}.tmp`);
  await writeFile(temp, `${process.pid}\n`);
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
            await rm(lockPath, { force: true });
            held.delete(lockPath);
          },
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = await readHolder(lockPath);
      const live = holder !== null && (holder === process.pid ? held.has(lockPath) : isAlive(holder));
      if (live) {
        throw new DirectoryLockedError(
          `${dir} is in use by process ${holder} (${lockPath}); if that process is not using it, remove the file`,
        );
      }
      // Stale. Two processes clearing the same stale lock at once could both win; that race is accepted.
      await rm(lockPath, { force: true });
    }
    throw new DirectoryLockedError(`${dir}: could not take ${lockPath} (another process keeps taking it)`);
  } finally {
    await rm(temp, { force: true });
  }
}

async function readHolder(lockPath: string): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (error) {
    // Released between our link attempt and this read: treat as stale, the retry will take it.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
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
