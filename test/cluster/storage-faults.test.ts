/**
 * Damaged write-ahead logs at the process level. A torn tail is what a crash in the middle of a write leaves:
 * part of a batch that was never synced, so never acknowledged; the node cuts it, starts, and catches up from
 * the leader. A flipped byte in the middle of the log is damage no crash explains: the node must refuse to
 * start, naming the file and the offset, rather than serve from a damaged log.
 */
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeProcess } from '../../src/cli/launcher.js';
import { writeKeys } from './client.js';
import { ProcessCluster } from './harness.js';

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
    const recordLength = 8 + bytes.readUInt32LE(0);
    const torn = bytes.subarray(0, 8 + Math.floor((recordLength - 8) / 2));
    await appendFile(segment, torn);
    await cluster.launch(id);
    // The torn record is gone: the log goes on as before, followed by nothing or by new records.
    const after = await readFile(segment);
    expect(after.subarray(0, bytes.length)).toEqual(bytes);
    expect(after.subarray(bytes.length, bytes.length + torn.length)).not.toEqual(torn);
    const dumps = await cluster.converged();
    for (const dump of dumps.slice(1)) expect(dump.data).toEqual(dumps[0]!.data);
    expect(Object.keys(dumps[0]!.data)).toHaveLength(200);
  });

  it('refuses to start after a byte in the middle was flipped, naming the file and offset', async () => {
    const id = followers[1]!;
    await cluster.crash(id);
    const segment = segmentOf(id);
    const bytes = await readFile(segment);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0xff;
    await writeFile(segment, bytes);
    const node = new NodeProcess(cluster.config(id));
    const exit = await Promise.race([
      node.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the node kept running')), 10_000)),
    ]);
    expect(exit.code).not.toBe(0);
    expect(node.stderr).toMatch(/cannot start: corrupt write-ahead log/);
    expect(node.stderr).toContain(segment);
    expect(node.stderr).toMatch(/at offset \d+/);
    // It left the log as it was, for a human to look at.
    expect(await readFile(segment)).toEqual(bytes);
  });
});
