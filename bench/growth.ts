/**
 * Does a node stay flat as the store grows? A 3-node cluster of real processes on loopback (fsync on) takes
 * 10k, 100k and 1M writes of fresh keys (100-byte values, autocannon with 64 clients, through the leader), and
 * at each size this prints the leader's RSS, the size of its data directory, and the time a follower takes to
 * restart (kill -9, start, serve with everything applied), beside what the store itself costs: what a bare
 * process's RSS grows by as it applies the same writes (and its heap; every process's memory is read after a
 * full garbage collection, so that it is what the process holds), and the time the follower spent
 * restoring its snapshot (its own metric). What is left (RSS − store, restart − restore) is the overhead
 * snapshots must keep flat; of a restart, the load (checking the snapshot file's checksum, which grows with
 * the store, and replaying the log after it, which the policy bounds) is shown apart too, and so is the
 * process's boot (the runtime and modules loading, the same at any size, and most of a small node's restart);
 * what is left is connecting to the leader and catching up. The follower restarts GROWTH_RESTARTS times (3) at
 * each size and the medians are shown. The same run with snapshots off is the baseline (there a restart
 * replays the whole log).
 *
 *   npm run bench:growth                                  both runs, each bounded by GROWTH_SECONDS (600)
 *   GROWTH_KEYS=10000,100000 npm run bench:growth         other sizes
 *   GROWTH_RUNS=on npm run bench:growth                   only the run with snapshots (or: off)
 *
 * A run that reaches its time bound stops writing and says how far it got.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { NodeProcess } from '../src/cli/launcher.js';
import { DEFAULT_KV_SNAPSHOT_POLICY, type KvNodeConfig, KvStateMachine } from '../src/kv/index.js';
import { localClusterConfigs } from '../src/kv/test-support.js';

const SIZES = (process.env.GROWTH_KEYS ?? '10000,100000,1000000').split(',').map(Number);
const BUDGET_MS = Number(process.env.GROWTH_SECONDS ?? 600) * 1000;
const RUNS = (process.env.GROWTH_RUNS ?? 'on,off').split(',');
/** Restarts of a follower at each size; each time shown is their median (a restart on a shared machine varies). */
const RESTARTS = Number(process.env.GROWTH_RESTARTS ?? 3);
const CONNECTIONS = 64;
const BATCH = 50_000;
const VALUE = 'v'.repeat(100);
const keyOf = (i: number) => `k-${i}`;

interface Point {
  readonly keys: number;
  readonly leaderRss: number;
  /** The V8 heap in use after a full garbage collection, the heap V8 holds from the system (RSS counts it
   *  whole), and the memory outside the heap (buffers). */
  readonly leaderHeap: number;
  readonly leaderHeapTotal: number;
  readonly leaderExternal: number;
  readonly dataDirBytes: number;
  readonly snapshotFileBytes: number;
  readonly restartMs: number;
  readonly restartedRss: number;
  /** Of the restart, as the follower itself measured it: the time from its process's start to its node's
   *  start (the runtime and modules loading), loading its durable state (the snapshot file's checksum checked,
   *  the log after it read), and restoring its snapshot into the store. */
  readonly bootMs: number;
  readonly loadMs: number;
  readonly restoreMs: number;
  readonly writesPerSecond: number;
}

interface StoreCost {
  /** What a bare process's RSS grows by when it builds the store, and its heap after a full GC. */
  readonly rssBytes: number;
  readonly heapBytes: number;
  readonly keys: number;
}

interface Status {
  readonly role: string;
  readonly commitIndex: number;
  readonly appliedIndex: number;
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return (await response.json()) as T;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await sleep(50);
  }
  throw new Error(`no ${what} within ${ms} ms`);
}

/**
 * A node's RSS and V8 heap once it has collected its garbage (gc-on-signal.mjs): what it holds, rather than
 * what it allocated since its last full collection, which comes and goes with the load.
 */
async function memoryOf(
  node: NodeProcess,
): Promise<{ rss: number; heap: number; heapTotal: number; external: number }> {
  node.child.kill('SIGUSR2');
  await sleep(1_000);
  return {
    rss: await metric(node.httpUrl, 'process_resident_memory_bytes'),
    heap: await metric(node.httpUrl, 'nodejs_heap_used_bytes'),
    heapTotal: await metric(node.httpUrl, 'nodejs_heap_total_bytes'),
    external: await metric(node.httpUrl, 'nodejs_external_memory_bytes'),
  };
}

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}

interface Restart {
  readonly ms: number;
  readonly rss: number;
  readonly bootMs: number;
  readonly loadMs: number;
  readonly restoreMs: number;
}

/** Each field's median over the restarts. */
function median(restarts: readonly Restart[]): Restart {
  const of = (field: keyof Restart) => {
    const sorted = restarts.map((r) => r[field]).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  return {
    ms: of('ms'),
    rss: of('rss'),
    bootMs: of('bootMs'),
    loadMs: of('loadMs'),
    restoreMs: of('restoreMs'),
  };
}

class Cluster {
  readonly nodes = new Map<string, NodeProcess>();

  constructor(readonly configs: readonly KvNodeConfig[]) {}

  async start(): Promise<void> {
    for (const config of this.configs) this.nodes.set(config.id, new NodeProcess(config));
    await Promise.all([...this.nodes.values()].map((node) => node.serving()));
  }

  leader(): Promise<NodeProcess> {
    return waitFor('leader', 20_000, async () => {
      for (const node of this.nodes.values()) {
        if ((await getJson<Status>(`${node.httpUrl}/status`)).role === 'leader') return node;
      }
      return undefined;
    });
  }

  /** Waits until every node has applied everything the leader committed. */
  async settled(): Promise<void> {
    const leader = await this.leader();
    const { commitIndex } = await getJson<Status>(`${leader.httpUrl}/status`);
    await waitFor('every node to apply the log', 120_000, async () => {
      const statuses = await Promise.all(
        [...this.nodes.values()].map((n) => getJson<Status>(`${n.httpUrl}/status`)),
      );
      return statuses.every((s) => s.appliedIndex >= commitIndex) ? true : undefined;
    });
  }

  /** kill -9 a follower, start it again, and time it until it serves with everything committed applied. */
  async restartFollower(): Promise<Restart> {
    const leader = await this.leader();
    const follower = [...this.nodes.values()].find((node) => node !== leader)!;
    const { commitIndex } = await getJson<Status>(`${leader.httpUrl}/status`);
    await follower.kill('SIGKILL');
    const started = performance.now();
    const again = new NodeProcess(follower.config);
    this.nodes.set(follower.config.id, again);
    await waitFor('the restarted follower to catch up', 300_000, async () => {
      const status = await getJson<Status>(`${again.httpUrl}/status`);
      return status.appliedIndex >= commitIndex ? true : undefined;
    });
    const ms = performance.now() - started;
    return {
      ms,
      rss: (await memoryOf(again)).rss,
      bootMs: 1000 * (await metric(again.httpUrl, 'pureraft_start_boot_seconds')),
      loadMs: 1000 * (await metric(again.httpUrl, 'pureraft_storage_load_seconds')),
      restoreMs: 1000 * (await metric(again.httpUrl, 'pureraft_snapshot_restore_seconds_total')),
    };
  }

  async stop(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((node) => node.kill('SIGTERM')));
  }
}

/** Writes fresh keys through the leader until `total` were acknowledged or the deadline passes. */
async function writeUntil(
  cluster: Cluster,
  state: { written: number; next: number },
  total: number,
  deadline: number,
) {
  while (state.written < total && Date.now() < deadline) {
    const leader = await cluster.leader();
    const result = await autocannon({
      url: leader.httpUrl,
      connections: CONNECTIONS,
      amount: Math.min(BATCH, total - state.written),
      requests: [
        { method: 'PUT', body: VALUE, setupRequest: (r) => ({ ...r, path: `/kv/${keyOf(state.next++)}` }) },
      ],
    });
    state.written += result['2xx'];
  }
}

async function runCluster(label: string, snapshotPolicy: KvNodeConfig['snapshotPolicy']): Promise<Point[]> {
  await mkdir(resolve('.data'), { recursive: true });
  const root = await mkdtemp(resolve('.data', 'growth-'));
  const configs = (await localClusterConfigs(['n1', 'n2', 'n3'], root)).map((config) => ({
    ...config,
    electionTimeout: [400, 800] as const,
    heartbeatInterval: 100,
    ...(snapshotPolicy !== undefined && { snapshotPolicy }),
  }));
  const cluster = new Cluster(configs);
  const points: Point[] = [];
  const deadline = Date.now() + BUDGET_MS;
  const progress = { written: 0, next: 0 };
  try {
    await cluster.start();
    for (const size of SIZES) {
      const before = { written: progress.written, at: performance.now() };
      await writeUntil(cluster, progress, size, deadline);
      const writesPerSecond = (progress.written - before.written) / ((performance.now() - before.at) / 1000);
      if (progress.written < size) {
        console.log(`[${label}] time bound reached after ${progress.written} keys: stopped before ${size}`);
        break;
      }
      await cluster.settled();
      await sleep(2_000); // a snapshot the last writes triggered finishes
      const leader = await cluster.leader();
      const memory = await memoryOf(leader);
      const snapshotFileBytes = await metric(leader.httpUrl, 'pureraft_storage_snapshot_file_bytes');
      const dataDirBytes = await directoryBytes(leader.config.dataDir);
      const restarts: Restart[] = [];
      for (let i = 0; i < RESTARTS; i++) restarts.push(await cluster.restartFollower());
      const restart = median(restarts);
      const point: Point = {
        keys: progress.written,
        leaderRss: memory.rss,
        leaderHeap: memory.heap,
        leaderHeapTotal: memory.heapTotal,
        leaderExternal: memory.external,
        dataDirBytes,
        snapshotFileBytes,
        restartMs: restart.ms,
        restartedRss: restart.rss,
        bootMs: restart.bootMs,
        loadMs: restart.loadMs,
        restoreMs: restart.restoreMs,
        writesPerSecond,
      };
      console.log(`[${label}] ${JSON.stringify(point)}`);
      points.push(point);
    }
  } finally {
    await cluster.stop();
    await rm(root, { recursive: true, force: true });
  }
  return points;
}

/**
 * What the store alone takes at `keys` keys, measured in a bare process of its own (this script with --store)
 * that applies the same writes as the cluster got, each value a fresh string as an HTTP body gives: what its
 * RSS grows by (the allocator's slack included, as in a node) and its heap, both after a full GC, as the
 * nodes' are read.
 */
async function storeCost(keys: number): Promise<StoreCost> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), '--store', String(keys)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the store measurement exited with ${code}`);
  return JSON.parse(output) as StoreCost;
}

/** The --store mode: builds the store and prints its cost as JSON. */
async function measureStore(keys: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  gc();
  await sleep(500);
  const empty = process.memoryUsage().rss;
  const store = new KvStateMachine();
  for (let i = 0; i < keys; i++)
    store.apply({ op: 'put', key: keyOf(i), value: Buffer.from(VALUE).toString() });
  await sleep(500);
  gc();
  await sleep(1_000);
  const rssBytes = process.memoryUsage().rss - empty;
  const cost: StoreCost = { rssBytes, heapBytes: process.memoryUsage().heapUsed, keys: store.size };
  process.stdout.write(JSON.stringify(cost));
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const pad = (value: string | number, width: number) => String(value).padStart(width);

/** Each measure, and its part beyond the store's own cost. */
const measures: readonly (readonly [string, (p: Point, store: StoreCost) => number, 'bytes' | 'ms'])[] = [
  ['leader RSS', (p) => p.leaderRss, 'bytes'],
  ['leader RSS − store', (p, store) => p.leaderRss - store.rssBytes, 'bytes'],
  ['restart', (p) => p.restartMs, 'ms'],
  ['restart − its restore', (p) => p.restartMs - p.restoreMs, 'ms'],
  ['its load', (p) => p.loadMs, 'ms'],
  ['restart − restore − load', (p) => p.restartMs - p.restoreMs - p.loadMs, 'ms'],
  ['its boot', (p) => p.bootMs, 'ms'],
  ['the rest', (p) => p.restartMs - p.restoreMs - p.loadMs - p.bootMs, 'ms'],
  ['restarted RSS', (p) => p.restartedRss, 'bytes'],
  ['restarted RSS − store', (p, store) => p.restartedRss - store.rssBytes, 'bytes'],
  ['data directory', (p) => p.dataDirBytes, 'bytes'],
];

function table(label: string, points: readonly Point[], costs: ReadonlyMap<number, StoreCost>): void {
  console.log(`\n${label}`);
  const columns = [
    'keys',
    'leader heap',
    'heap total',
    'external',
    'writes/s',
    'store',
    'store heap',
    'snapshot',
    ...measures.map(([name]) => name),
  ];
  const widths = columns.map((column) => Math.max(10, column.length));
  console.log(columns.map((column, i) => pad(column, widths[i]!)).join('  '));
  for (const p of points) {
    const store = costs.get(p.keys)!;
    const cells = [
      String(p.keys),
      `${mib(p.leaderHeap)} MiB`,
      `${mib(p.leaderHeapTotal)} MiB`,
      `${mib(p.leaderExternal)} MiB`,
      p.writesPerSecond.toFixed(0),
      `${mib(store.rssBytes)} MiB`,
      `${mib(store.heapBytes)} MiB`,
      p.snapshotFileBytes > 0 ? `${mib(p.snapshotFileBytes)} MiB` : '-',
      ...measures.map(([, of, unit]) =>
        unit === 'ms' ? `${(of(p, store) / 1000).toFixed(2)} s` : `${mib(of(p, store))} MiB`,
      ),
    ];
    console.log(cells.map((cell, i) => pad(cell, widths[i]!)).join('  '));
  }
}

/** Ratios of the largest size reached to the smallest, side by side for the runs. */
function ratios(runs: ReadonlyMap<string, readonly Point[]>, costs: ReadonlyMap<number, StoreCost>): void {
  const labels = [...runs.keys()];
  console.log(
    `\nratio largest / smallest size reached:  ${labels.map((label) => label.split(' (')[0]).join('  |  ')}`,
  );
  for (const [name, of] of measures) {
    const cells = labels.map((label) => {
      const points = runs.get(label)!;
      if (points.length < 2) return 'n/a';
      const [first, last] = [points[0]!, points.at(-1)!];
      const ratio = of(last, costs.get(last.keys)!) / of(first, costs.get(first.keys)!);
      return `${ratio.toFixed(2)} (${last.keys / 1000}k / ${first.keys / 1000}k)`;
    });
    console.log(`  ${name.padEnd(26)} ${cells.map((cell) => cell.padStart(22)).join('  |  ')}`);
  }
}

async function main(): Promise<void> {
  // Every node process can be told to collect its garbage before its memory is read.
  const preload = pathToFileURL(fileURLToPath(new URL('./gc-on-signal.mjs', import.meta.url))).href;
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --expose-gc --import ${preload}`.trim();
  console.log(
    `3 nodes on loopback, fsync on; ${CONNECTIONS} clients PUT fresh keys with ${VALUE.length}-byte values; sizes ${SIZES.join(', ')}; at most ${BUDGET_MS / 1000} s of writing per run`,
  );
  const runs = new Map<string, Point[]>();
  const policy = `${DEFAULT_KV_SNAPSHOT_POLICY.entries} entries or ${mib(DEFAULT_KV_SNAPSHOT_POLICY.bytes)} MiB of commands`;
  if (RUNS.includes('on'))
    runs.set(`snapshots on (the default policy: ${policy})`, await runCluster('on', undefined));
  if (RUNS.includes('off')) runs.set('snapshots off (baseline)', await runCluster('off', false));
  const costs = new Map<number, StoreCost>();
  for (const keys of new Set([...runs.values()].flatMap((points) => points.map((p) => p.keys)))) {
    costs.set(keys, await storeCost(keys));
  }
  for (const [label, points] of runs) table(label, points, costs);
  ratios(runs, costs);
  console.log(
    '\nMemory is read after a full GC. store: what the RSS of a bare process grows by as it applies the same writes; restore: the restarted' +
      " follower's own time restoring its snapshot; restarted: a follower after kill -9, serving with every" +
      ' committed write applied.',
  );
}

const storeArg = process.argv.indexOf('--store');
if (storeArg === -1) await main();
else await measureStore(Number(process.argv[storeArg + 1]));
