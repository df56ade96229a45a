/**
 * File system calls done completely and durably. A file's data is synced through its own handle, but its name
 * (a creation, a rename, a removal) lives in the directory, and survives a power loss only once the directory
 * itself is synced.
 */
import { writeSync } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { unfinishedPath } from './layout.js';
import { writing } from './write-error.js';

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Creates `dir` (absolute) if needed, with every new directory entry synced, so the log cannot vanish with it. */
export async function makeDirectoryDurably(dir: string): Promise<void> {
  const firstCreated = await mkdir(dir, { recursive: true });
  if (firstCreated === undefined) return;
  // Every directory from firstCreated down to dir is new, and each one's entry lives in its parent.
  for (let created = dir; ; created = dirname(created)) {
    await syncDirectory(dirname(created));
    if (created === resolve(firstCreated) || dirname(created) === created) return;
  }
}

/** Removes the files (a missing one is fine), then syncs `dir` once so that none of them comes back. */
export async function removeDurably(dir: string, paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return;
  for (const path of paths) await rm(path, { force: true });
  await syncDirectory(dir);
}

/** Writes all of `bytes` at `position` (null: the file's position). A regular file takes it in one call; the
 *  loop covers the rare short write. */
export async function writeFully(
  handle: FileHandle,
  bytes: Uint8Array,
  position: number | null,
): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    const at = position === null ? null : position + written;
    const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, at);
    written += bytesWritten;
  }
}

/**
 * `writeFully` on the calling thread: into the page cache, which takes microseconds for a log batch, where a
 * write through the thread pool costs two thread switches and an event loop turn before the sync can start
 * (the write-ahead log's hot path: see wal.ts). Throws what the write throws.
 */
export function writeFullySync(handle: FileHandle, bytes: Uint8Array, position: number): void {
  let written = 0;
  while (written < bytes.length) {
    written += writeSync(handle.fd, bytes, written, bytes.length - written, position + written);
  }
}

/**
 * Creates `path` holding `bytes`, whole or not at all: written and synced under another name, then renamed into
 * place and the directory synced. A crash before the rename leaves only the other name (layout.ts), for the
 * next start to delete; `path` must not exist.
 */
export async function createFileDurably(path: string, bytes: Uint8Array): Promise<void> {
  const unfinished = unfinishedPath(path);
  await writing(unfinished, 'create', async () => {
    const handle = await open(unfinished, 'w');
    try {
      await writeFully(handle, bytes, 0);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  });
  await writing(path, 'create', async () => {
    await rename(unfinished, path);
    await syncDirectory(dirname(path));
  });
}
