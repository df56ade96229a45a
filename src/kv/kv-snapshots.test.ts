/**
 * The assembled service with snapshots, in this process over real TCP and disk: /status and /metrics show the
 * compaction, and a node that was down while the others compacted past it catches up by snapshot.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_KV_SNAPSHOT_POLICY, KvNode, type KvNodeConfig, kvSnapshotPolicy } from './kv-node.js';
import { localClusterConfigs } from './test-support.js';

let root = '';
let nodes: KvNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.map((node) => node.stop()));
  nodes = [];
  await rm(root, { recursive: true, force: true });
});

async function startCluster(): Promise<KvNodeConfig[]> {
  root = await mkdtemp(join(tmpdir(), 'pureraft-kvsnap-'));
  const configs = (await localClusterConfigs(['a', 'b', 'c'], root)).map((config) => ({
    ...config,
    snapshotPolicy: { entries: 20 },
  }));
  nodes = configs.map(launch);
  await Promise.all(nodes.map((node) => node.start()));
  return configs;
}

function launch(config: KvNodeConfig): KvNode {
  return new KvNode(
    config,
    () => {},
    (error) => {
      throw error;
    },
  );
}

async function until<T>(what: string, probe: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const leaderOf = () => until('a leader', () => nodes.find((node) => node.node.status().role === 'leader'));

async function write(leader: KvNode, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    const response = await fetch(`http://127.0.0.1:${leader.config.http.port}/kv/key-${i}`, {
      method: 'PUT',
      body: `value-${i}`,
    });
    expect(response.status).toBe(200);
  }
}

/** The value of a sample in Prometheus text, e.g. `pureraft_snapshots_total{event="taken"}`. */
function sample(metrics: string, name: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no sample ${name}`);
  return Number(line.slice(name.length + 1));
}

describe('the key-value service with snapshots', () => {
  it('compacts by its policy and shows it in /status and /metrics', async () => {
    await startCluster();
    const leader = await leaderOf();
    await write(leader, 0, 50);
    const status = (await (await fetch(`http://127.0.0.1:${leader.config.http.port}/status`)).json()) as {
      snapshotIndex: number;
      firstIndex: number;
      lastIndex: number;
    };
    expect(status.snapshotIndex).toBeGreaterThanOrEqual(40);
    expect(status.firstIndex).toBe(status.snapshotIndex + 1);
    expect(status.lastIndex).toBeGreaterThanOrEqual(status.snapshotIndex);
    const metrics = leader.metricsText();
    expect(sample(metrics, 'pureraft_snapshots_total{event="taken"}')).toBeGreaterThanOrEqual(2);
    expect(sample(metrics, 'pureraft_snapshot_bytes_total{event="taken"}')).toBeGreaterThan(0);
    expect(sample(metrics, 'pureraft_snapshot_index')).toBe(status.snapshotIndex);
    expect(sample(metrics, 'pureraft_storage_snapshot_file_bytes')).toBeGreaterThan(0);
    expect(sample(metrics, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    // The start's parts: the boot (this test process's own, up to the node's start) and the load after it.
    const boot = sample(metrics, 'pureraft_start_boot_seconds');
    expect(boot).toBeGreaterThan(0);
    expect(boot).toBeLessThanOrEqual(performance.now() / 1000);
    expect(sample(metrics, 'pureraft_storage_load_seconds')).toBeGreaterThan(0);
  });

  it('catches up a node that was down while the others compacted past it, by snapshot', async () => {
    const configs = await startCluster();
    const leader = await leaderOf();
    const down = nodes.findIndex((node) => node !== leader);
    await nodes[down]!.stop();
    await write(leader, 0, 100);
    expect(leader.node.status().snapshotIndex).toBeGreaterThan(nodes[down]!.node.status().lastIndex);
    nodes[down] = launch(configs[down]!);
    await nodes[down].start();
    const back = nodes[down];
    await until('the node to catch up', () =>
      back.node.status().appliedIndex >= leader.node.status().commitIndex ? true : undefined,
    );
    expect(back.machine.dump()).toEqual(leader.machine.dump());
    expect(back.machine.size).toBe(100);
    const metrics = back.metricsText();
    expect(sample(metrics, 'pureraft_snapshots_total{event="received"}')).toBe(1);
    expect(sample(metrics, 'pureraft_snapshots_total{event="installed"}')).toBe(1);
    expect(sample(metrics, 'pureraft_snapshot_bytes_total{event="installed"}')).toBeGreaterThan(100 * 10);
    expect(sample(leader.metricsText(), 'pureraft_snapshots_total{event="sent"}')).toBe(1);
  });
});

describe("the service's snapshot policy", () => {
  it('fills what a policy leaves out from the service’s default, not the runtime’s', () => {
    // `--snapshot-entries` alone once raised the byte limit from the service's 4 MiB to the runtime's 64 MiB.
    expect(kvSnapshotPolicy({ entries: 500 })).toEqual({ entries: 500, bytes: 4 * 1024 * 1024 });
    expect(kvSnapshotPolicy({ bytes: 1024 })).toEqual({ entries: 10_000, bytes: 1024 });
    expect(kvSnapshotPolicy(undefined)).toEqual(DEFAULT_KV_SNAPSHOT_POLICY);
    expect(kvSnapshotPolicy(false)).toBe(false);
  });
});
