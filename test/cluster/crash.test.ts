/**
 * Real node processes under kill -9, in the middle of a write load: every write a node acknowledged must be
 * on every node afterwards, and no two nodes may hold different data.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KvClient, type LoadReport, writeKeys } from './client.js';
import { ProcessCluster, sleep } from './harness.js';

const KEYS = 1_000;
const CONCURRENCY = 8;
const FAULT_AT = 400;

let cluster: ProcessCluster;
beforeEach(async () => {
  cluster = await ProcessCluster.start();
});
afterEach(async () => {
  await cluster?.stop();
});

/** Writes KEYS keys through all the nodes, running `fault` once FAULT_AT writes were acknowledged. */
async function loadWithFault(prefix: string, fault: () => Promise<void>): Promise<LoadReport> {
  let injected: Promise<void> | undefined;
  const report = await writeKeys(
    cluster.ids.map((id) => cluster.url(id)),
    {
      count: KEYS,
      concurrency: CONCURRENCY,
      prefix,
      onProgress: (acknowledged) => {
        if (acknowledged >= FAULT_AT) injected ??= fault();
      },
    },
  );
  await injected;
  return report;
}

/** Every node converges on the same data, which holds every acknowledged write. */
async function expectEveryAcknowledgedWriteEverywhere(report: LoadReport): Promise<void> {
  expect(report.unacknowledged).toBe(0);
  expect(report.acknowledged.size).toBe(KEYS);
  const dumps = await cluster.converged();
  for (const dump of dumps.slice(1)) expect(dump.data).toEqual(dumps[0]!.data);
  const missing = [...report.acknowledged].filter(([key, value]) => dumps[0]!.data[key] !== value);
  expect(missing).toEqual([]);
  // And a linearizable read of a few keys, asked of every node.
  const reader = new KvClient('reader', []);
  for (const id of cluster.ids) {
    for (const key of [...report.acknowledged.keys()].filter((_, i) => i % 250 === 0)) {
      expect(await reader.get(cluster.url(id), key)).toBe(report.acknowledged.get(key));
    }
  }
}

describe('a cluster of real processes, killed with SIGKILL under load', () => {
  it('keeps every acknowledged write when the leader dies mid-load and comes back', async () => {
    const leader = await cluster.leader();
    const { term } = await cluster.status(leader);
    const report = await loadWithFault('leader', async () => {
      await cluster.crash(leader);
      await sleep(500);
      await cluster.launch(leader);
    });
    await expectEveryAcknowledgedWriteEverywhere(report);
    const newLeader = await cluster.leader();
    expect((await cluster.status(newLeader)).term).toBeGreaterThan(term);
  });

  it('keeps every acknowledged write when a follower dies mid-load and comes back', async () => {
    const leader = await cluster.leader();
    const follower = cluster.ids.find((id) => id !== leader)!;
    const report = await loadWithFault('follower', async () => {
      await cluster.crash(follower);
      await sleep(500);
      await cluster.launch(follower);
    });
    await expectEveryAcknowledgedWriteEverywhere(report);
  });

  it('keeps every acknowledged write when every node dies at once and all restart', async () => {
    await cluster.leader();
    const report = await loadWithFault('all', async () => {
      await Promise.all(cluster.ids.map((id) => cluster.crash(id)));
      await sleep(200);
      await Promise.all(cluster.ids.map((id) => cluster.launch(id)));
    });
    await expectEveryAcknowledgedWriteEverywhere(report);
  });
});
