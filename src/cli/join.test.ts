/** `node --join`'s pieces: learning the cluster (through a follower), and the join record in the data directory. */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KvNodeConfig } from '../kv/index.js';
import { InProcessCluster } from '../kv/test-support.js';
import {
  checkJoinableDirectory,
  JOIN_FILE,
  joiningConfig,
  learnCluster,
  readJoinRecord,
  writeJoinRecord,
} from './join.js';

let cluster: InProcessCluster;
let dir: string;
beforeAll(async () => {
  cluster = await InProcessCluster.start();
  await cluster.leader();
  dir = await mkdtemp(join(tmpdir(), 'pureraft-join-'));
});
afterAll(async () => {
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

const options = { timeoutMs: 5_000 };

describe('joining a cluster', () => {
  it('learns the voters and every member’s addresses, through any member', async () => {
    const { followers } = await cluster.roles();
    const url = cluster.url(followers[0]!, '');
    const record = await learnCluster(url, 'd', options);
    expect(record.cluster).toBe(url);
    expect([...record.voters].sort()).toEqual(['a', 'b', 'c']);
    for (const node of cluster.nodes) {
      expect(record.peers[node.config.id]).toEqual({
        raft: `127.0.0.1:${node.config.raft.port}`,
        http: `127.0.0.1:${node.config.http.port}`,
      });
    }
  });

  it('refuses to join under the id of a voter', async () => {
    await expect(learnCluster(cluster.url(cluster.nodes[0]!, ''), 'b', options)).rejects.toThrow(
      'the cluster already has a voter named b: remove it first, or pick another id',
    );
  });

  it('says so when no member answers', async () => {
    await expect(learnCluster('http://127.0.0.1:9', 'd', options)).rejects.toThrow(
      /cannot reach http:\/\/127\.0\.0\.1:9\/cluster/,
    );
  });

  it('keeps the record whole in the data directory, and refuses a damaged one', async () => {
    expect(await readJoinRecord(join(dir, 'missing'))).toBeUndefined();
    const record = await learnCluster(cluster.url(cluster.nodes[0]!, ''), 'd', options);
    await writeJoinRecord(dir, record);
    expect(await readJoinRecord(dir)).toEqual(record);
    expect(await readdir(dir)).toEqual([JOIN_FILE]);
    const config = joiningConfig(
      {
        id: 'd',
        raft: { host: '127.0.0.1', port: 1 },
        http: { host: '127.0.0.1', port: 2 },
        peers: {},
        dataDir: dir,
      } as KvNodeConfig,
      record,
    );
    expect(config.initialVoters).toEqual(record.voters);
    expect(Object.keys(config.peers).sort()).toEqual(['a', 'b', 'c']);
    await writeFile(join(dir, JOIN_FILE), '{"version":1,"cluster":"x","voters":[],"peers":{}}');
    await expect(readJoinRecord(dir)).rejects.toThrow(/join\.json is damaged: move it away to join again/);
  });

  it('refuses a data directory that holds a log it did not get by joining', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pureraft-joinable-'));
    try {
      checkJoinableDirectory(dir);
      await writeFile(join(dir, 'STATE'), 'a log of its own');
      // A node run once on its own kept its history through the join, and could lead with it once promoted.
      expect(() => checkJoinableDirectory(dir)).toThrow(/already holds a log that did not come from joining/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
