/**
 * Throughput and latency of the replicated key-value service: a 3-node cluster of real processes on loopback,
 * every write fsync'd (the write-ahead log syncs each batch), driven over HTTP by autocannon with 1, 16 and 64
 * concurrent clients. Each client PUTs fresh keys to the leader, so every request is a committed log entry.
 *
 * The disk's own limit is measured in the same run, on the same filesystem: a loop of small writes, each
 * followed by fdatasync. A log that syncs once per write cannot go faster than that; batching is what lets
 * it exceed it.
 *
 * Then linearizable reads (GET, ReadIndex: a round of heartbeats confirms the leadership, no log entry, no
 * disk) of the keys just written, at 16 and 64 clients, on the leader and on a follower (which asks the leader
 * for each read index), beside the writes at the same number of clients. Run: npm run bench:kv
 */
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { NodeProcess } from '../src/cli/launcher.js';
import { formatAddress, type KvNodeConfig } from '../src/kv/index.js';
import { localClusterConfigs } from '../src/kv/test-support.js';

const PHASE_SECONDS = 5;
const CONCURRENCIES = [1, 16, 64];
const READ_CONCURRENCIES = [16, 64];
const VALUE = 'v'.repeat(100);

/** Small write + fdatasync in a loop for `ms`: syncs per second this filesystem sustains for one writer. */
function measureFsyncRate(dir: string, ms: number): number {
  const path = join(dir, 'fsync-probe');
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(64, 1);
  let syncs = 0;
  const start = process.hrtime.bigint();
  const until = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < until) {
    writeSync(fd, block);
    fdatasyncSync(fd);
    syncs++;
    now = process.hrtime.bigint();
  }
  closeSync(fd);
  return syncs / (Number(now - start) / 1e9);
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  return (await response.json()) as T;
}

/** A counter without labels from a node's /metrics. */
async function counter(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

const leaderSyncs = (url: string) => counter(url, 'pureraft_storage_syncs_total');

async function findLeader(nodes: readonly NodeProcess[]): Promise<NodeProcess> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    for (const node of nodes) {
      const status = await getJson<{ role: string }>(`${node.httpUrl}/status`).catch(() => undefined);
      if (status?.role === 'leader') return node;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no leader within 15 s');
}

/** PUTs of fresh keys `<keyPrefix>-0`, `-1`, ... */
async function phase(url: string, connections: number, seconds: number, keyPrefix: string) {
  let next = 0;
  return autocannon({
    url,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'PUT',
        body: VALUE,
        setupRequest: (request) => ({ ...request, path: `/kv/${keyPrefix}-${next++}` }),
      },
    ],
  });
}

/** GETs of the keys `<keyPrefix>-0` to `-<keys - 1>`, in turn, at `consistency`. */
async function readPhase(
  url: string,
  connections: number,
  consistency: 'linearizable' | 'serializable',
  keyPrefix: string,
  keys: number,
) {
  let next = 0;
  const query = consistency === 'serializable' ? '?consistency=serializable' : '';
  return autocannon({
    url,
    connections,
    duration: PHASE_SECONDS,
    requests: [
      {
        method: 'GET',
        setupRequest: (request) => ({ ...request, path: `/kv/${keyPrefix}-${next++ % keys}${query}` }),
      },
    ],
  });
}

function pad(value: string | number, width: number): string {
  return String(value).padStart(width);
}

async function main(): Promise<void> {
  await mkdir(resolve('.data'), { recursive: true });
  const root = await mkdtemp(resolve('.data', 'bench-'));
  let nodes: NodeProcess[] = [];
  try {
    const fsyncRate = measureFsyncRate(root, 1_500);
    const configs: KvNodeConfig[] = (await localClusterConfigs(['n1', 'n2', 'n3'], root)).map((config) => ({
      ...config,
      // The defaults of `pureraft node`, not the tests' short timeouts: a loaded machine must not see elections.
      electionTimeout: [400, 800],
      heartbeatInterval: 100,
    }));
    nodes = configs.map((config) => new NodeProcess(config));
    await Promise.all(nodes.map((node) => node.serving()));
    const leader = await findLeader(nodes);
    console.log(
      `3 nodes on loopback, data in ${root}; leader ${leader.config.id} at ${formatAddress(leader.config.http)}`,
    );
    console.log(
      `disk: ${fsyncRate.toFixed(0)} fsyncs/s (64-byte write + fdatasync, one writer, same filesystem)\n`,
    );
    await phase(leader.httpUrl, 4, 1, 'warmup');

    console.log(
      'clients   writes/s   p50 ms   p99 ms   errors   leader fsyncs/s   writes per fsync   writes/s ÷ disk fsyncs/s',
    );
    const writeRates = new Map<number, { perSecond: number; keys: number }>();
    for (const connections of CONCURRENCIES) {
      const syncsBefore = await leaderSyncs(leader.httpUrl);
      const result = await phase(leader.httpUrl, connections, PHASE_SECONDS, `c${connections}`);
      const syncs = (await leaderSyncs(leader.httpUrl)) - syncsBefore;
      const writes = result['2xx'];
      const writesPerSecond = writes / result.duration;
      writeRates.set(connections, { perSecond: writesPerSecond, keys: writes });
      const failures = result.non2xx + result.errors;
      console.log(
        [
          pad(connections, 7),
          pad(writesPerSecond.toFixed(0), 10),
          pad(result.latency.p50.toFixed(1), 8),
          pad(result.latency.p99.toFixed(1), 8),
          pad(failures, 8),
          pad((syncs / result.duration).toFixed(0), 17),
          pad((writes / syncs).toFixed(2), 18),
          pad((writesPerSecond / fsyncRate).toFixed(2), 26),
        ].join(' '),
      );
    }
    await readPhases(leader, nodes.find((node) => node !== leader)!, writeRates);
  } finally {
    await Promise.all(nodes.map((node) => node.kill('SIGTERM')));
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * Reads at each of READ_CONCURRENCIES, of keys the writes at that many clients wrote (a read of a missing key
 * would be a 404, counted as an error): linearizable on the leader and on a follower (which asks the leader for
 * each read index), and, for reference, serializable on the leader (the local state at once: what a read costs
 * without ReadIndex, about the HTTP layer's own limit). Reads/s beside the writes/s of the same run, and how
 * many reads shared each ReadIndex request.
 */
async function readPhases(
  leader: NodeProcess,
  follower: NodeProcess,
  writeRates: ReadonlyMap<number, { perSecond: number; keys: number }>,
): Promise<void> {
  console.log(
    '\nreads          at         clients    reads/s   p50 ms   p99 ms   errors   writes/s   reads ÷ writes   reads per ReadIndex',
  );
  const kinds = [
    ['linearizable', 'leader', leader],
    ['linearizable', 'follower', follower],
    ['serializable', 'leader', leader],
  ] as const;
  for (const [consistency, name, node] of kinds) {
    for (const connections of READ_CONCURRENCIES) {
      const written = writeRates.get(connections)!;
      const requestsBefore = await counter(node.httpUrl, 'pureraft_kv_read_index_requests_total');
      const keys = Math.max(1, written.keys);
      const result = await readPhase(node.httpUrl, connections, consistency, `c${connections}`, keys);
      const requests =
        (await counter(node.httpUrl, 'pureraft_kv_read_index_requests_total')) - requestsBefore;
      const reads = result['2xx'];
      const readsPerSecond = reads / result.duration;
      console.log(
        [
          consistency.padEnd(14),
          name.padEnd(8),
          pad(connections, 9),
          pad(readsPerSecond.toFixed(0), 10),
          pad(result.latency.p50.toFixed(1), 8),
          pad(result.latency.p99.toFixed(1), 8),
          pad(result.non2xx + result.errors, 8),
          pad(written.perSecond.toFixed(0), 10),
          pad((readsPerSecond / written.perSecond).toFixed(1), 16),
          pad(requests === 0 ? '-' : (reads / requests).toFixed(1), 21),
        ].join(' '),
      );
    }
  }
}

await main();
