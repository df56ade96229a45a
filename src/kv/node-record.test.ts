/** A data directory belongs to one node of one cluster (node-record.ts). */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KvNode } from './kv-node.js';
import { NODE_RECORD_FILE } from './node-record.js';
import { localClusterConfigs } from './test-support.js';

const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map((root) => rm(root, { recursive: true, force: true })));
});

const quiet = () => {};

describe('a data directory', () => {
  it('keeps the voters it first started with: started again without its peers, a node is no cluster of one', async () => {
    const root = await mkdtemp(join(tmpdir(), 'pureraft-record-'));
    roots.push(root);
    const [a] = await localClusterConfigs(['a', 'b', 'c'], root);
    const first = new KvNode(a!, quiet, quiet);
    await first.start();
    await first.stop();
    expect(JSON.parse(await readFile(join(a!.dataDir, NODE_RECORD_FILE), 'utf8'))).toEqual({
      id: 'a',
      voters: ['a', 'b', 'c'],
    });
    // Its peers forgotten: from the flags alone it was the only voter, elected itself, and took writes.
    const alone = new KvNode({ ...a!, peers: {} }, quiet, quiet);
    await alone.start();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(alone.node.status().membership.voters).toEqual(['a', 'b', 'c']);
    expect(alone.node.status().role).not.toBe('leader');
    await alone.stop();
  });

  it('is refused to a node of another id', async () => {
    const root = await mkdtemp(join(tmpdir(), 'pureraft-record-'));
    roots.push(root);
    const [a, b] = await localClusterConfigs(['a', 'b', 'c'], root);
    const first = new KvNode(a!, quiet, quiet);
    await first.start();
    await first.stop();
    expect(() => new KvNode({ ...b!, dataDir: a!.dataDir }, quiet, quiet)).toThrow(
      /the data directory .* belongs to node "a", not "b"/,
    );
  });
});
