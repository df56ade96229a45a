/**
 * Membership changes with real node processes (issue 11): a cluster grows from three voters to five under a
 * write load (`pureraft node --join`, then `pureraft member promote` or the HTTP API); a node whose data
 * directory was deleted is replaced by a fresh one that catches up by snapshot and is promoted; the leader
 * removes itself. In each case every acknowledged write is readable at the end, with its value, on every
 * member, and the writes never stopped being acknowledged (a write that no node acknowledges within ten
 * seconds of retries counts as unacknowledged, and there must be none).
 */
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { formatAddress } from '../../src/kv/index.js';
import { type LoadReport, writeKeys } from './client.js';
import { eventually, getJson, ProcessCluster } from './harness.js';

interface ClusterReply {
  readonly leader: string;
  readonly changing: boolean;
  readonly membership: { readonly voters: string[]; readonly learners: string[] };
  readonly members: {
    readonly id: string;
    readonly role: string;
    readonly lag: number;
    readonly match: number;
  }[];
}

/** `pureraft member ...` as an operator runs it: a real process; its exit code and output. */
function member(...args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'member', ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The cluster as the leader sees it, asked through `url` (a follower redirects; fetch follows). */
async function clusterView(url: string): Promise<ClusterReply> {
  return getJson<ClusterReply>(`${url}/cluster`, 5_000);
}

/** Starts node `id` with `--join` through `through`, and waits until it serves. */
async function join(cluster: ProcessCluster, id: string, through: string) {
  await cluster.addConfig(id);
  return cluster.launch(id, { extraFlags: ['--join', cluster.url(through)] });
}

/** Waits until `id` is a learner at most a few entries behind, then promotes it through `promote`. */
async function promoteWhenCaughtUp(
  cluster: ProcessCluster,
  id: string,
  through: string,
  promote: () => Promise<boolean>,
  ms = 30_000,
): Promise<void> {
  await eventually(`${id} to catch up and be promoted`, ms, async () => {
    const view = await clusterView(cluster.url(through));
    const learner = view.members.find((m) => m.id === id);
    if (learner?.role === 'voter') return true;
    if (learner?.role !== 'learner' || learner.lag > 50 || view.changing) return undefined;
    return (await promote()) ? true : undefined;
  });
}

/** Every watched node converges on the same data, which holds every acknowledged write with its value. */
async function expectEveryWrite(cluster: ProcessCluster, reports: readonly LoadReport[]): Promise<void> {
  const dumps = await cluster.converged(30_000);
  for (const dump of dumps.slice(1)) expect(dump.data).toEqual(dumps[0]!.data);
  for (const report of reports) {
    expect(report.unacknowledged, 'writes no node acknowledged in time').toBe(0);
    const missing = [...report.acknowledged].filter(([key, value]) => dumps[0]!.data[key] !== value);
    expect(missing).toEqual([]);
    expect(report.acknowledged.size).toBeGreaterThan(0);
  }
}

let cluster: ProcessCluster | undefined;

/** Starts this test's cluster; `afterEach` stops it. */
async function startCluster(extra?: Parameters<typeof ProcessCluster.start>[1]): Promise<ProcessCluster> {
  cluster = await ProcessCluster.start(['a', 'b', 'c'], extra);
  return cluster;
}
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe('membership changes with real processes', () => {
  it('grows from three voters to five under a write load', async () => {
    const c = await startCluster();
    await c.leader();
    const urls = c.ids.map((id) => c.url(id));
    let acknowledged = 0;
    const load = writeKeys(urls, {
      count: 3_000,
      concurrency: 8,
      prefix: 'grow',
      onProgress: (n) => {
        acknowledged = n;
      },
    });

    await join(c, 'd', 'b');
    await join(c, 'e', 'c');
    // d through the command line, e through the HTTP API.
    await promoteWhenCaughtUp(c, 'd', 'a', async () => {
      const run = member('promote', '--node', formatAddress(c.config('a').http), '--id', 'd');
      if (run.code !== 0) expect(run.stderr).toMatch(/promote failed \((409|503|504)\)/);
      return run.code === 0;
    });
    await promoteWhenCaughtUp(c, 'e', 'b', async () => {
      const response = await fetch(`${c.url('b')}/cluster/promote`, {
        method: 'POST',
        body: JSON.stringify({ id: 'e' }),
        signal: AbortSignal.timeout(15_000),
      });
      await response.body?.cancel();
      return response.status === 200;
    });
    const during = acknowledged;
    const report = await load;
    expect(during, 'the load was still running while the cluster grew').toBeLessThan(3_000);

    const view = await clusterView(c.url('e'));
    expect(view.membership.voters.sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(view.membership.learners).toEqual([]);
    const listed = member('list', '--node', formatAddress(c.config('d').http));
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^e +voter +127\.0\.0\.1:\d+ +127\.0\.0\.1:\d+ +\d+$/m);
    await expectEveryWrite(c, [report]);
  }, 60_000);

  it('replaces a node whose data directory was deleted with a fresh one that catches up by snapshot', async () => {
    const c = await startCluster({ snapshotPolicy: { entries: 200, bytes: 64 * 1024 } });
    const leader = await c.leader();
    const first = await writeKeys(
      c.ids.map((id) => c.url(id)),
      { count: 1_500, concurrency: 16, prefix: 'before' },
    );
    const victim = c.ids.find((id) => id !== leader)!;
    await c.crash(victim);
    await rm(c.config(victim).dataDir, { recursive: true, force: true });
    c.forget(victim);
    const survivors = c.ids;
    const load = writeKeys(
      survivors.map((id) => c.url(id)),
      { count: 1_500, concurrency: 8, prefix: 'during' },
    );

    const removed = member('remove', '--node', formatAddress(c.config(survivors[0]!).http), '--id', victim);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toMatch(new RegExp(`^${victim} removed; voters: `));
    expect((await c.status(leader)).snapshotIndex, 'the leader has compacted').toBeGreaterThan(100);

    const fresh = await join(c, 'd', survivors[1]!);
    await promoteWhenCaughtUp(c, 'd', survivors[0]!, async () => {
      const run = member('promote', '--node', formatAddress(c.config(survivors[0]!).http), '--id', 'd');
      return run.code === 0;
    });
    const report = await load;
    expect(await c.metric('d', 'pureraft_snapshots_total{event="installed"}')).toBeGreaterThanOrEqual(1);
    expect(fresh.stderr).toMatch(/added to the cluster as a learner/);
    await expectEveryWrite(c, [first, report]);

    // Restarted, it comes back from its data directory without asking to join again, and still votes.
    await c.interrupt('d');
    const again = await c.launch('d', { extraFlags: ['--join', c.url(survivors[0]!)] });
    expect(again.stderr).toMatch(/joined the cluster before/);
    await eventually('d to follow the leader again', 10_000, async () =>
      (await c.status('d')).role === 'follower' ? true : undefined,
    );
    const view = await clusterView(c.url('d'));
    expect(view.membership.voters.sort()).toEqual([...survivors, 'd'].sort());
  }, 60_000);

  it('removes the leader while writes go on: it steps down and the others carry on', async () => {
    const c = await startCluster();
    const leader = await c.leader();
    const others = c.ids.filter((id) => id !== leader);
    const load = writeKeys(
      others.map((id) => c.url(id)),
      { count: 2_000, concurrency: 8, prefix: 'unlead' },
    );
    await eventually('some writes', 10_000, async () =>
      (await c.status(leader)).commitIndex > 50 ? true : undefined,
    );
    const removed = member('remove', '--node', formatAddress(c.config(others[0]!).http), '--id', leader);
    expect(removed.code, removed.stderr).toBe(0);
    c.forget(leader);
    const next = await c.leader();
    expect(others).toContain(next);
    const report = await load;
    const view = await clusterView(c.url(next));
    expect(view.membership.voters.sort()).toEqual(others.sort());
    await expectEveryWrite(c, [report]);
  }, 60_000);
});
