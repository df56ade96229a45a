import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, DirectoryLockedError, formatOwner, ownerOf } from './lock.js';

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
    expect(await readFile(join(dir, 'LOCK'), 'utf8')).toBe(formatOwner(ownerOf(process.pid)));
    await lock.release();
  });

  it('refuses a LOCK this process holds, until it is released', async () => {
    const lock = await acquireLock(dir);
    await expect(acquireLock(dir)).rejects.toBeInstanceOf(DirectoryLockedError);
    // The same directory by another spelling is the same lock.
    await expect(acquireLock(join(dir, '.', 'sub', '..'))).rejects.toBeInstanceOf(DirectoryLockedError);
    // And by a symlink: it took the lock for a stale one of this pid and took it over (two writers).
    const alias = join(dir, 'alias');
    await symlink(dir, alias);
    await expect(acquireLock(alias)).rejects.toBeInstanceOf(DirectoryLockedError);
    await lock.release();
    const again = await acquireLock(dir);
    await again.release();
  });
});

describe('two takers of one stale LOCK at once', () => {
  it("let one win: the other finds the winner's fresh LOCK where the stale one was, and leaves it", async () => {
    // A LOCK left by a process that is gone (no pid is this large).
    await writeFile(join(dir, 'LOCK'), '4194999 1 x\n');
    // Both find it stale before either clears it. Each used to delete whatever LOCK held then: the second
    // deleted the first's fresh LOCK and put its own, and both went on as owners.
    let arrived = 0;
    let bothArrived: () => void = () => {};
    const met = new Promise<void>((resolve) => {
      bothArrived = resolve;
    });
    const hooks = {
      beforeClearingStale: async () => {
        const order = ++arrived;
        if (order === 2) bothArrived();
        await met;
        // The second taker waits until the first has cleared the stale lock and taken its own.
        if (order === 2) await new Promise((resolve) => setTimeout(resolve, 100));
      },
    };
    const outcomes = await Promise.allSettled([acquireLock(dir, hooks), acquireLock(dir, hooks)]);
    const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const lost = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(DirectoryLockedError);
    // The winner's LOCK is in place, and nothing set aside is left behind.
    expect(await readFile(join(dir, 'LOCK'), 'utf8')).toBe(formatOwner(ownerOf(process.pid)));
    expect((await readdir(dir)).sort()).toEqual(['LOCK']);
    await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
  });
});

describe('acquireLock after kill -9 and pid reuse', () => {
  const linux = existsSync('/proc/self/stat');

  /** A child process to name in a LOCK; killed after the test. */
  async function spawnSleeper(script: string): Promise<{ child: ChildProcess; firstLine: string }> {
    const child = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(child);
    const firstLine = await new Promise<string>((resolve, reject) => {
      child.once('error', reject);
      child.stdout!.setEncoding('utf8').once('data', (chunk: string) => resolve(chunk.split('\n')[0]!));
    });
    return { child, firstLine };
  }
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });

  it.runIf(linux)('refuses a LOCK whose process is alive and started when the LOCK says', async () => {
    const { child } = await spawnSleeper('echo up; exec sleep 30');
    await writeFile(join(dir, 'LOCK'), formatOwner(ownerOf(child.pid!)));
    await expect(acquireLock(dir)).rejects.toThrow(new RegExp(`in use by process ${child.pid}`));
  });

  it.runIf(linux)(
    'takes over a LOCK whose pid a later, unrelated process has (another start time)',
    async () => {
      const { child } = await spawnSleeper('echo up; exec sleep 30');
      const owner = ownerOf(child.pid!);
      await writeFile(
        join(dir, 'LOCK'),
        formatOwner({ ...owner, startTime: String(Number(owner.startTime) - 1) }),
      );
      const lock = await acquireLock(dir);
      expect(await readFile(join(dir, 'LOCK'), 'utf8')).toBe(formatOwner(ownerOf(process.pid)));
      await lock.release();
    },
  );

  it.runIf(linux)('takes over a LOCK written before a reboot (another boot id)', async () => {
    const { child } = await spawnSleeper('echo up; exec sleep 30');
    await writeFile(join(dir, 'LOCK'), formatOwner({ ...ownerOf(child.pid!), bootId: 'another-boot' }));
    const lock = await acquireLock(dir);
    await lock.release();
  });

  it.runIf(linux)('takes over a LOCK whose process was killed and is a zombie not reaped yet', async () => {
    // `sleep 0` exits at once; its parent is then `sleep 30`, which never reaps it: a zombie for 30 s.
    const { firstLine } = await spawnSleeper('sleep 0 & echo $!; exec sleep 30');
    const zombie = Number(firstLine);
    const owner = ownerOf(zombie);
    for (let waited = 0; !readFileSync(`/proc/${zombie}/stat`, 'utf8').includes(') Z '); waited += 10) {
      if (waited > 5_000) throw new Error(`process ${zombie} never became a zombie`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await writeFile(join(dir, 'LOCK'), formatOwner(owner));
    const lock = await acquireLock(dir);
    await lock.release();
  });

  it('takes over a LOCK in the old format (a pid alone) whose process is gone', async () => {
    await writeFile(join(dir, 'LOCK'), '2147483646\n');
    const lock = await acquireLock(dir);
    await lock.release();
  });
});

describe('a release while another process has the LOCK aside to judge it', () => {
  it('waits for the LOCK to be put back and removes it, so that it does not lock everyone out', async () => {
    // A stale LOCK: the first taker clears it and takes the directory; the second, which found the same stale
    // LOCK, moves the first's fresh LOCK aside to judge it; the first releases in that moment; the second
    // finds its owner alive and puts it back. It used to stay there, naming a live process holding nothing.
    await writeFile(join(dir, 'LOCK'), '4194999 1 x\n');
    let first: { release(): Promise<void> } | undefined;
    let releasing: Promise<void> | undefined;
    const second = acquireLock(dir, {
      beforeClearingStale: async () => {
        first = await acquireLock(dir);
      },
      whileAside: async () => {
        releasing = first!.release();
        await new Promise((resolve) => setTimeout(resolve, 50));
      },
    });
    await expect(second).rejects.toBeInstanceOf(DirectoryLockedError);
    await releasing;
    expect((await readdir(dir)).sort()).toEqual([]);
    const third = await acquireLock(dir);
    await third.release();
  });
});
