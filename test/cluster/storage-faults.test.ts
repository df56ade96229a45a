/**
 * Damaged write-ahead logs and a full disk at the process level. A torn tail is what a crash in the middle of a
 * write leaves: part of a batch that was never synced, so never acknowledged; the node cuts it, starts, and
 * catches up from the leader. A flipped byte in the log or a deleted segment is damage no crash explains: the
 * node must refuse to start, naming the file and the offset, rather than serve from a damaged log. A full disk
 * is no damage: the node keeps running, says why it takes no part, and catches up once there is space.
 */
import { appendFile, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeProcess } from '../../src/cli/launcher.js';
import { recordOffsets } from '../../src/effects/storage/disk-fixture.js';
import { fillDisk, mountSmallTmpfs } from '../../src/effects/storage/test-support.js';
import { writeKeys } from './client.js';
import { eventually, ProcessCluster, sleep } from './harness.js';

let cluster: ProcessCluster;
let followers: string[];
beforeAll(async () => {
  cluster = await ProcessCluster.start();
  const leader = await cluster.leader();
  followers = cluster.ids.filter((id) => id !== leader);
  const report = await writeKeys([cluster.url(leader)], { count: 200, concurrency: 4, prefix: 'disk' });
  expect(report.acknowledged.size).toBe(200);
  await cluster.converged();
});
afterAll(async () => {
  await cluster?.stop();
});

function segmentOf(id: string): string {
  return join(cluster.config(id).dataDir, 'wal-00000001.log');
}

describe('a node process with a damaged write-ahead log', () => {
  it('starts after its tail was torn, cutting it, and catches up', async () => {
    const id = followers[0]!;
    await cluster.crash(id);
    const segment = segmentOf(id);
    const bytes = await readFile(segment);
    // A record cut short: the header and half the payload of a real record ([u32 length][u32 crc][payload]).
    const [first] = await recordOffsets(segment);
    const recordLength = 8 + bytes.readUInt32LE(first!);
    const torn = bytes.subarray(first!, first! + 8 + Math.floor((recordLength - 8) / 2));
    await appendFile(segment, torn);
    await cluster.launch(id);
    // The torn record is gone: the log goes on as before, followed by nothing or by new records.
    const after = await readFile(segment);
    expect(after.subarray(first!, bytes.length)).toEqual(bytes.subarray(first!));
    expect(after.subarray(bytes.length, bytes.length + torn.length)).not.toEqual(torn);
    const dumps = await cluster.converged();
    for (const dump of dumps.slice(1)) expect(dump.data).toEqual(dumps[0]!.data);
    expect(Object.keys(dumps[0]!.data)).toHaveLength(200);
  });

  /** The segment the next test damages, as it was. */
  let original = Buffer.alloc(0);

  /** Starts node `id` on its data as it is now, expecting it to refuse: returns what it printed. */
  async function expectRefusesToStart(id: string): Promise<string> {
    const node = new NodeProcess(cluster.config(id));
    const exit = await Promise.race([
      node.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the node kept running')), 10_000)),
    ]);
    expect(exit.code).not.toBe(0);
    return node.stderr;
  }

  it('refuses to start after a byte in the middle was flipped, naming the file and offset', async () => {
    const id = followers[1]!;
    await cluster.crash(id);
    const segment = segmentOf(id);
    const bytes = await readFile(segment);
    original = Buffer.from(bytes);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0xff;
    await writeFile(segment, bytes);
    const stderr = await expectRefusesToStart(id);
    expect(stderr).toMatch(/cannot start: corrupt write-ahead log/);
    expect(stderr).toContain(segment);
    expect(stderr).toMatch(/at offset \d+/);
    // It left the log as it was, for a human to look at.
    expect(await readFile(segment)).toEqual(bytes);
  });

  it('refuses to start after its log segment was deleted, rather than start empty with a vote forgotten', async () => {
    const id = followers[1]!;
    await rm(segmentOf(id));
    expect(await expectRefusesToStart(id)).toMatch(/cannot start: corrupt write-ahead log: .*no log segment/);
    // Undamaged again, it starts and catches up.
    await writeFile(segmentOf(id), original);
    await cluster.launch(id);
    await cluster.converged();
  });

  it('keeps running when its disk fills up, says why, and catches up once there is space', async (context) => {
    const id = followers[0]!;
    const { dataDir } = cluster.config(id);
    await cluster.crash(id);
    // The node's data moves onto a 4 MiB tmpfs mounted where it was.
    const aside = await mkdtemp(join(tmpdir(), 'pureraft-aside-'));
    await cp(dataDir, aside, { recursive: true });
    const mounted = await mountSmallTmpfs(4 * 1024 * 1024, dataDir);
    if ('skip' in mounted) {
      await rm(aside, { recursive: true, force: true });
      await cluster.launch(id);
      return context.skip(mounted.skip);
    }
    try {
      await cp(aside, dataDir, { recursive: true });
      const node = await cluster.launch(id);
      const filler = await fillDisk(dataDir);
      const leader = await cluster.leader();
      const report = await writeKeys([cluster.url(leader)], { count: 50, concurrency: 4, prefix: 'full' });
      expect(report.acknowledged.size).toBe(50);
      await eventually('the node to say its disk is full', 10_000, async () =>
        /storage failed \(DiskStorage: could not \w+ .*wal-00000001\.log: ENOSPC/.test(node.stderr)
          ? true
          : undefined,
      );
      await sleep(1_000);
      expect(node.running).toBe(true);
      expect(await cluster.status(id)).toMatchObject({ role: 'follower', leader: null });
      // Space again: it rejoins by itself and holds what everyone holds.
      await rm(filler);
      const dumps = await cluster.converged(20_000);
      for (const dump of dumps.slice(1)) expect(dump.data).toEqual(dumps[0]!.data);
      expect(Object.keys(dumps[0]!.data)).toHaveLength(250);
      expect(node.stderr).toMatch(/storage takes writes again; rejoining/);
    } finally {
      await cluster.crash(id);
      await mounted.unmount();
      await rm(aside, { recursive: true, force: true });
    }
  });
});
