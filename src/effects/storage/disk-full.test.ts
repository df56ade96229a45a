/**
 * A disk that fills up for real: a small tmpfs (mounting one needs root; elsewhere these tests skip, saying
 * why). The storage refuses writes naming ENOSPC and the file, refuses to reopen while the disk is full, and
 * reopens with exactly what was acknowledged once there is space.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskStorage } from './disk.js';
import { commandEntry, fillDisk, mountSmallTmpfs } from './test-support.js';

let mounted: Awaited<ReturnType<typeof mountSmallTmpfs>>;
beforeAll(async () => {
  mounted = await mountSmallTmpfs(2 * 1024 * 1024);
  if ('skip' in mounted) console.warn(`disk-full tests skipped: ${mounted.skip}`);
});
afterAll(async () => {
  if ('unmount' in mounted) await mounted.unmount();
});

describe('DiskStorage on a full disk', () => {
  it('says ENOSPC and the file, refuses to reopen until there is space, then holds what was acknowledged', async (context) => {
    if ('skip' in mounted) return context.skip();
    const dir = join(mounted.dir, 'data');
    const storage = new DiskStorage<string>(dir);
    await storage.load();
    await storage.persist({ type: 'persist', hardState: { term: 1, votedFor: 'n1' } });
    const filler = await fillDisk(mounted.dir);
    // The open segment's last page may still take a few records: write until the disk refuses.
    let acknowledged = 0;
    let failure: unknown = null;
    for (let index = 1; index <= 1_000 && failure === null; index++) {
      await storage.persist({ type: 'persist', entries: [commandEntry(index, 1)] }).then(
        () => acknowledged++,
        (error: unknown) => {
          failure = error;
        },
      );
    }
    expect(failure).toMatchObject({
      message: expect.stringMatching(/could not \w+ .*wal-00000001\.log: ENOSPC: no space left on device/),
      cause: { code: 'ENOSPC' },
    });
    expect(storage.failure).toMatchObject({ code: 'ENOSPC' });
    await expect(storage.reopen()).rejects.toMatchObject({ code: 'ENOSPC' });
    await expect(storage.reopen()).rejects.toMatchObject({ code: 'ENOSPC' });

    await rm(filler);
    const durable = await storage.reopen();
    expect(durable.hardState).toEqual({ term: 1, votedFor: 'n1' });
    expect(durable.entries.map((entry) => entry.index)).toEqual(
      Array.from({ length: acknowledged }, (_, i) => i + 1),
    );
    // It takes writes again, and a restart finds them.
    await storage.persist({ type: 'persist', entries: [commandEntry(acknowledged + 1, 1)] });
    await storage.close();
    const reopened = new DiskStorage<string>(dir);
    expect((await reopened.load()).entries).toHaveLength(acknowledged + 1);
    await reopened.close();
  });
});
