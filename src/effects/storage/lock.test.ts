import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, DirectoryLockedError } from './lock.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pureraft-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('acquireLock', () => {
  it('takes over a LOCK naming our own pid that this process does not hold (a restarted pid 1)', async () => {
    await writeFile(join(dir, 'LOCK'), `${process.pid}\n`);
    const lock = await acquireLock(dir);
    expect(await readFile(join(dir, 'LOCK'), 'utf8')).toBe(`${process.pid}\n`);
    await lock.release();
  });

  it('refuses a LOCK this process holds, until it is released', async () => {
    const lock = await acquireLock(dir);
    await expect(acquireLock(dir)).rejects.toBeInstanceOf(DirectoryLockedError);
    // The same directory by another spelling is the same lock.
    await expect(acquireLock(join(dir, '.', 'sub', '..'))).rejects.toBeInstanceOf(DirectoryLockedError);
    await lock.release();
    const again = await acquireLock(dir);
    await again.release();
  });
});
