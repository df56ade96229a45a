/**
 * Snapshots with real node processes: a cluster that compacts often under a write load, a follower that was
 * down while the others compacted past it and catches up by snapshot, kill -9 while a node writes a snapshot
 * and while it receives one (it restarts cleanly and nothing acknowledged is lost), and a damaged snapshot
 * file that a node refuses to start from, naming it.
 *
 * The catch-up test writes CLUSTER_SNAPSHOT_KEYS keys (default 10,000, about 15 s); the long run is
 *   CLUSTER_SNAPSHOT_KEYS=200000 npx vitest run test/cluster/snapshots.test.ts
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAULTS_ENV } from '../../src/check/torture/inject.js';
import { type LoadReport, writeKeys } from './client.js';
import { eventually, ProcessCluster, sleep } from './harness.js';

/** The disk-fault preload of the fault suite (`src/check/torture/inject.ts`): loaded by tests only. */
const INJECT = new URL('../../src/check/torture/inject.ts', import.meta.url).href;

const KEYS = Number(process.env.CLUSTER_SNAPSHOT_KEYS ?? 10_000);
/** About twenty snapshots over the run, whatever its size: a small interval, on every node. */
const POLICY = { entries: 1_000, bytes: Math.max(256 * 1024, Math.round((KEYS * 140) / 20)) };

const temporaries = async (dir: string) =>
  (await readdir(dir)).filter((name) => name.startsWith('snapshot.tmp-'));

/** Every node converges on the same data, holding every acknowledged write; returns that data. */
async function expectEveryWrite(
  cluster: ProcessCluster,
  reports: readonly LoadReport[],
  ms = 30_000,
): Promise<Readonly<Record<string, string>>> {
  const dumps = await cluster.converged(ms);
  for (const dump of dumps.slice(1)) expect(dump.data).toEqual(dumps[0]!.data);
  for (const report of reports) {
    expect(report.unacknowledged).toBe(0);
    const missing = [...report.acknowledged].filter(([key, value]) => dumps[0]!.data[key] !== value);
    expect(missing).toEqual([]);
  }
  return dumps[0]!.data;
}

/**
 * Watches node `id`'s data directory and kill -9s it the moment snapshot data is being written there (a
 * `snapshot.tmp-*` file), after `beforeKill`; returns the names seen, or null if none showed up within `ms`.
 */
async function killWhileWritingSnapshotData(
  cluster: ProcessCluster,
  id: string,
  ms: number,
  beforeKill: () => Promise<void> = async () => {},
): Promise<string[] | null> {
  const dir = cluster.config(id).dataDir;
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const seen = await temporaries(dir).catch(() => []);
    if (seen.length > 0) {
      await beforeKill();
      await cluster.crash(id);
      return seen;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return null;
}

describe('a cluster of real processes that compacts its logs', () => {
  let cluster: ProcessCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
  });

  it(
    `takes ${KEYS} writes with a small snapshot interval, and a follower that was down catches up by snapshot`,
    async () => {
      cluster = await ProcessCluster.start(['a', 'b', 'c'], { snapshotPolicy: POLICY });
      const c = cluster;
      const leader = await c.leader();
      const [follower, other] = c.ids.filter((id) => id !== leader) as [string, string];
      const urls = [leader, other].map((id) => c.url(id));
      const load = (count: number, prefix: string) =>
        writeKeys(urls, { count: Math.round(count), concurrency: 32, prefix });

      const first = await load(KEYS * 0.3, 'first');
      const { lastIndex } = await c.status(follower);
      await c.processes.get(follower)!.kill('SIGTERM');
      const second = await load(KEYS * 0.4, 'second');
      const compacted = (await c.status(leader)).snapshotIndex;
      expect(compacted, 'the leader compacted past the stopped follower').toBeGreaterThan(lastIndex);
      // Back while the writes go on: it catches up by snapshot, then by the log.
      const [third] = await Promise.all([load(KEYS * 0.3, 'third'), c.launch(follower)]);

      const data = await expectEveryWrite(c, [first, second, third], 60_000);
      expect(Object.keys(data).length).toBe(
        first.acknowledged.size + second.acknowledged.size + third.acknowledged.size,
      );
      expect(await c.metric(follower, 'pureraft_snapshots_total{event="received"}')).toBeGreaterThanOrEqual(
        1,
      );
      expect(await c.metric(follower, 'pureraft_snapshots_total{event="installed"}')).toBeGreaterThanOrEqual(
        1,
      );
      expect(await c.metric(follower, 'pureraft_snapshot_bytes_total{event="installed"}')).toBeGreaterThan(0);
      // Sent by the leader of the moment: under load on a busy machine leadership may have moved meanwhile.
      const sent = await Promise.all(
        c.ids.map((id) => c.metric(id, 'pureraft_snapshots_total{event="sent"}')),
      );
      expect(sent.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
      for (const id of c.ids) {
        expect(await c.metric(id, 'pureraft_snapshot_index'), id).toBeGreaterThan(0);
        // Compaction kept up: one snapshot file, no leftovers, a log of a few segments.
        const names = await readdir(c.config(id).dataDir);
        expect(
          names.filter((name) => name.endsWith('.snap')),
          id,
        ).toHaveLength(1);
      }
    },
    60_000 + KEYS * 2,
  );
});

describe('crashes around snapshots, with real processes', () => {
  let cluster: ProcessCluster;
  const reports: LoadReport[] = [];
  beforeAll(async () => {
    cluster = await ProcessCluster.start(['a', 'b', 'c'], {
      snapshotPolicy: { entries: 200, bytes: 64 * 1024 },
    });
    await cluster.leader();
    reports.push(
      await writeKeys(
        cluster.ids.map((id) => cluster.url(id)),
        { count: 10_000, concurrency: 32, prefix: 'pre' },
      ),
    );
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  const follower = async () => {
    const leader = await cluster.leader();
    return cluster.ids.find((id) => id !== leader)!;
  };

  it('keeps every acknowledged write when a node is killed while it writes a snapshot, and it restarts cleanly', async () => {
    const victim = await follower();
    const load = writeKeys(
      cluster.ids.map((id) => cluster.url(id)),
      { count: 6_000, concurrency: 16, prefix: 'writing' },
    );
    const seen = await killWhileWritingSnapshotData(cluster, victim, 30_000);
    expect(seen, 'the node wrote snapshot data while the load ran').not.toBeNull();
    await sleep(300);
    await cluster.launch(victim);
    reports.push(await load);
    await expectEveryWrite(cluster, reports);
    // Recovery deleted what the crash left half-written.
    const left = await temporaries(cluster.config(victim).dataDir);
    expect(left.filter((name) => seen!.includes(name))).toEqual([]);
  });

  it('keeps every acknowledged write when a node is killed while it receives a snapshot, and it restarts cleanly', async () => {
    const victim = await follower();
    const leader = await cluster.leader();
    await cluster.crash(victim);
    const before = await cluster.status(leader);
    reports.push(
      await writeKeys(
        cluster.ids.filter((id) => id !== victim).map((id) => cluster.url(id)),
        { count: 8_000, concurrency: 32, prefix: 'receiving' },
      ),
    );
    expect((await cluster.status(leader)).snapshotIndex).toBeGreaterThan(before.lastIndex);
    // The transfers that ended, either way, counted on both live nodes: on a loaded machine leadership may
    // move while the victim is down. The kill may also land just after the data was acknowledged, while the
    // received file waits to be carried by a persist: the sender has counted it sent then, and it is still a
    // snapshot the victim never installed.
    const senders = cluster.ids.filter((id) => id !== victim);
    const transfersEnded = async () => {
      const counts = await Promise.all(
        senders.flatMap((id) => [
          cluster.metric(id, 'pureraft_transport_snapshots_failed_total'),
          cluster.metric(id, 'pureraft_transport_snapshots_sent_total'),
        ]),
      );
      return counts.reduce((a, b) => a + b, 0);
    };
    // Back up, it needs the leader's snapshot: the received data is written as it arrives, and killed then.
    // Its fsyncs take 2 s longer, so that the received file is still being written when the kill lands, even
    // on a loaded machine where a whole transfer can end between two looks at the directory. The count is taken
    // just before the kill: earlier, a dial refused while the victim was still down would count as the end.
    const faults = await mkdtemp(join(tmpdir(), 'pureraft-faults-'));
    await writeFile(join(faults, `${victim}.json`), JSON.stringify({ fsyncDelayMs: 2_000 }));
    cluster.spawn(victim, { nodeArgs: ['--import', INJECT], env: { [FAULTS_ENV]: faults } });
    let endedBefore = Number.POSITIVE_INFINITY;
    const seen = await killWhileWritingSnapshotData(cluster, victim, 30_000, async () => {
      endedBefore = await transfersEnded();
    });
    await rm(faults, { recursive: true, force: true });
    expect(seen, 'the node received snapshot data').not.toBeNull();
    await eventually('the leader to see the transfer end', 10_000, async () =>
      (await transfersEnded()) > endedBefore ? true : undefined,
    ).catch((error: unknown) => {
      const logs = cluster.ids.map((id) => `--- ${id}:\n${cluster.processes.get(id)?.stderr ?? ''}`);
      throw new Error(`${String(error)}; the victim saw ${seen!.join(', ')}\n${logs.join('\n')}`);
    });
    await cluster.launch(victim);
    await expectEveryWrite(cluster, reports);
    expect(await cluster.metric(victim, 'pureraft_snapshots_total{event="installed"}')).toBe(1);
    const left = await temporaries(cluster.config(victim).dataDir);
    expect(left.filter((name) => seen!.includes(name))).toEqual([]);
  });

  it('refuses to start from a damaged snapshot file, naming it, and changes nothing', async () => {
    const victim = await follower();
    await cluster.crash(victim);
    const dir = cluster.config(victim).dataDir;
    const [snapshot] = (await readdir(dir)).filter((name) => name.endsWith('.snap'));
    expect(snapshot).toBeDefined();
    const path = join(dir, snapshot!);
    const bytes = await readFile(path);
    bytes[Math.floor(bytes.length / 3)]! ^= 0x20;
    await writeFile(path, bytes);
    // The LOCK the killed process left is taken over and released: every other file stays as it was.
    const files = async () => (await readdir(dir)).filter((name) => name !== 'LOCK').sort();
    const before = await files();
    const node = cluster.spawn(victim);
    const exit = await Promise.race([
      node.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the node kept running')), 10_000)),
    ]);
    expect(exit.code).not.toBe(0);
    expect(node.stderr).toMatch(/cannot start: corrupt snapshot: /);
    expect(node.stderr).toContain(path);
    expect(node.stderr).toMatch(/checksum mismatch/);
    expect(await files()).toEqual(before);
    expect(await readFile(path)).toEqual(bytes);
  });
});
