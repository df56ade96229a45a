/**
 * Throughput and latency of the replicated key-value service: a 3-node cluster of real processes on loopback,
 * every write fsync'd (the write-ahead log syncs each batch), driven over HTTP by autocannon with 1, 16, 64 and
 * 256 concurrent clients. Each client PUTs fresh keys to the leader, so every request is a committed log entry.
 *
 * Beside it, when etcd is installed (Debian's `etcd-server`, etcd 3.4; see etcd.ts), a 3-member etcd cluster on
 * loopback with its defaults (fsync on), driven by the same load generator with the same settings through its
 * v3 JSON gateway (POST /v3/kv/put, a fresh key per request, the same 100-byte value); the order of the two
 * alternates from one number of clients to the next. Before the rows each system takes BENCH_WARMUP seconds of
 * writes (default 30), and each server read from a third of that in reads, so that the rows measure pureraft
 * once V8 has compiled its paths. Each row also gives the CPU seconds per 1,000 writes of
 * the whole cluster: the user + system time of the three member processes during the phase (/proc/<pid>/stat).
 * Without etcd the benchmark says how to install it and runs pureraft alone (BENCH_ONLY=pureraft: always).
 *
 * The disk's own limit is measured in the same run, on the same filesystem: a loop of small writes, each
 * followed by fdatasync. A log that syncs once per write cannot go faster than that; batching is what lets
 * it exceed it.
 *
 * Then linearizable reads (GET, ReadIndex: a round of heartbeats confirms the leadership, no log entry, no
 * disk) of the keys just written, at 16 and 64 clients, on the leader and on a follower (which asks the leader
 * for each read index), beside the writes at the same number of clients. Then the cluster is restarted with
 * lease reads (thesis §6.4.1: the leader answers at once while its lease holds) and the same linearizable reads
 * run again. Last, the same reads against a node:http server that answers every request at once with a 100-byte
 * body, in a process of its own: the most requests/s any service on node:http reaches here with this load
 * generator, so the reads' rows can be read against it. Run: npm run bench:kv
 */
import { spawn } from 'node:child_process';
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { NodeProcess } from '../src/cli/launcher.js';
import { formatAddress, type KvNodeConfig } from '../src/kv/index.js';
import { localClusterConfigs } from '../src/kv/test-support.js';
import { secondsFromEnv } from './env.js';
import { cpuSeconds, ETCD_INSTALL_HINT, EtcdCluster, etcdPutBody, findEtcd } from './etcd.js';

const PHASE_SECONDS = 5;
/** BENCH_CLIENTS=1,64: only these write rows (and the read rows among READ_CONCURRENCIES they leave). */
const CONCURRENCIES = clientCounts(process.env.BENCH_CLIENTS) ?? [1, 16, 64, 256];
/** BENCH_ONLY=pureraft: without etcd even when it is installed. */
const ONLY_PURERAFT = process.env.BENCH_ONLY === 'pureraft';
/** BENCH_READS=off: the writes only. */
const READS = process.env.BENCH_READS !== 'off';
/** BENCH_LEASE=off: no lease-read phase (the cluster restarted with lease reads, after the other reads). */
const LEASE = READS && process.env.BENCH_LEASE !== 'off';
/**
 * BENCH_WARMUP: seconds of writes each system takes before the rows (default 30; 0: none), two thirds at 1 client
 * and the rest at 16. V8 compiles pureraft's code as it runs, a function once it has run enough: in 5-s windows at
 * 1 client from a fresh start, a cluster went from ~320 writes/s at 3.8 ms of CPU per write to ~650-700 at 1.6 ms
 * over the first 30-50 s, and at 16 clients from ~2,000 to ~3,300-3,600 over 10 s (a throwaway script). The rows
 * measure the steady state of both; etcd, compiled ahead of time, gets the same writes.
 */
const WARMUP_SECONDS = secondsFromEnv('BENCH_WARMUP', 30, 600);
/** Before the reads' rows, each server read from takes a third of BENCH_WARMUP in reads at 16 clients. */
const READ_WARMUP_SECONDS = Math.round(WARMUP_SECONDS / 3);
const READ_CONCURRENCIES = [16, 64];
const VALUE = 'v'.repeat(100);

function clientCounts(text: string | undefined): number[] | undefined {
  if (text === undefined || text === '') return undefined;
  const counts = text.split(',').map(Number);
  if (!counts.every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error(`BENCH_CLIENTS: expected client counts separated by commas (e.g. 1,64), got ${text}`);
  }
  return counts;
}

/** BENCH_WARMUP's writes: fresh keys, two thirds of the time at 1 client, the rest at 16 (the batches' path). */
async function warmUp(target: WriteTarget): Promise<void> {
  const single = Math.round((WARMUP_SECONDS * 2) / 3);
  if (single > 0) await phase(target, 1, single, 'warmup-1');
  if (WARMUP_SECONDS > single) await phase(target, 16, WARMUP_SECONDS - single, 'warmup-16');
}

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

/** Each node's role and term, or why it did not answer. */
async function roles(nodes: readonly NodeProcess[]): Promise<string> {
  const each = await Promise.all(
    nodes.map(async (node) => {
      const status = await getJson<{ role: string; term: number }>(`${node.httpUrl}/status`).catch(
        (error: unknown) => ({ role: `unreachable (${(error as Error).message})`, term: '?' }),
      );
      return `${node.config.id} ${status.role} in term ${status.term}${node.running ? '' : ', exited'}`;
    }),
  );
  return each.join(', ');
}

async function termOf(node: NodeProcess): Promise<number | undefined> {
  const status = await getJson<{ term: number }>(`${node.httpUrl}/status`).catch(() => undefined);
  return status?.term;
}

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

/** What a write phase drives: how to find the leader's URL, and how a write of a fresh key looks to it. */
interface WriteTarget {
  readonly name: string;
  /** Asked before every phase: an election under load must not turn a phase into redirects. */
  readonly leaderUrl: () => Promise<string>;
  /** The cluster's member processes, whose CPU time the phase counts. */
  readonly pids: readonly number[];
  readonly write: (key: string) => { method: 'PUT' | 'POST'; path: string; body: string };
}

const pureraftWrites = (leaderUrl: () => Promise<string>, pids: readonly number[]): WriteTarget => ({
  name: 'pureraft',
  leaderUrl,
  pids,
  write: (key) => ({ method: 'PUT', path: `/kv/${key}`, body: VALUE }),
});

const etcdWrites = (leaderUrl: () => Promise<string>, pids: readonly number[]): WriteTarget => ({
  name: 'etcd',
  leaderUrl,
  pids,
  write: (key) => ({ method: 'POST', path: '/v3/kv/put', body: etcdPutBody(key, VALUE) }),
});

/**
 * Runs autocannon for `seconds`, and stops it if it has not finished 10 s after that (a stuck cluster must not
 * hang the benchmark): every phase is bounded in time.
 */
function bounded(options: autocannon.Options, seconds: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon({ ...options, duration: seconds, timeout: 10 }, (error, result) => {
      clearTimeout(guard);
      if (error) reject(error);
      else resolve(result);
    });
    const guard = setTimeout(() => instance.stop(), (seconds + 10) * 1_000);
  });
}

interface PureraftPhase {
  readonly row: WriteRow;
  /** The leader's fsyncs during the phase. */
  readonly syncs: number;
  readonly seconds: number;
}

/** Writes of fresh keys `<keyPrefix>-0`, `-1`, ...; with the CPU seconds the cluster's processes spent meanwhile. */
async function phase(target: WriteTarget, connections: number, seconds: number, keyPrefix: string) {
  let next = 0;
  const url = await target.leaderUrl();
  const cpuBefore = clusterCpu(target.pids);
  const result = await bounded(
    {
      url,
      connections,
      requests: [
        {
          setupRequest: (request) => ({ ...request, ...target.write(`${keyPrefix}-${next++}`) }),
        },
      ],
    },
    seconds,
  );
  return { result, cpuSeconds: clusterCpu(target.pids) - cpuBefore, keyPrefix };
}

function clusterCpu(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

/** GETs of the keys `<keyPrefix>-0` to `-<keys - 1>`, in turn, at `consistency`. */
async function readPhase(
  url: string,
  connections: number,
  consistency: 'linearizable' | 'serializable',
  keyPrefix: string,
  keys: number,
  seconds = PHASE_SECONDS,
) {
  let next = 0;
  const query = consistency === 'serializable' ? '?consistency=serializable' : '';
  return bounded(
    {
      url,
      connections,
      requests: [
        {
          method: 'GET',
          setupRequest: (request) => ({ ...request, path: `/kv/${keyPrefix}-${next++ % keys}${query}` }),
        },
      ],
    },
    seconds,
  );
}

/** READ_WARMUP_SECONDS of linearizable reads at 16 clients, of keys a write row wrote: unmeasured. */
async function warmReads(url: string, writeRates: ReadonlyMap<number, WriteRow>): Promise<void> {
  const written = [...writeRates.values()].find((row) => row.keys > 0);
  if (READ_WARMUP_SECONDS === 0 || written === undefined) return;
  await readPhase(url, 16, 'linearizable', written.keyPrefix, written.keys, READ_WARMUP_SECONDS);
}

function pad(value: string | number, width: number): string {
  return String(value).padStart(width);
}

interface WriteRow {
  readonly perSecond: number;
  /** The phase wrote keys `<keyPrefix>-0` to `-<keys - 1>` (about: a failed write leaves a gap). */
  readonly keyPrefix: string;
  readonly keys: number;
  readonly p50: number;
  readonly p99: number;
  readonly failures: number;
  readonly cpuPerThousand: number;
}

function writeRow({ result, cpuSeconds, keyPrefix }: Awaited<ReturnType<typeof phase>>): WriteRow {
  const writes = result['2xx'];
  return {
    perSecond: writes / result.duration,
    keyPrefix,
    keys: writes,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failures: result.non2xx + result.errors + result.timeouts,
    cpuPerThousand: writes === 0 ? Number.NaN : (1_000 * cpuSeconds) / writes,
  };
}

async function main(): Promise<void> {
  await mkdir(resolve('.data'), { recursive: true });
  const root = await mkdtemp(resolve('.data', 'bench-'));
  let nodes: NodeProcess[] = [];
  let etcd: EtcdCluster | undefined;
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
    let currentLeader = leader;
    const pureraft = pureraftWrites(
      async () => currentLeader.httpUrl,
      nodes.map((node) => node.child.pid!),
    );
    console.log(
      `pureraft: 3 nodes on loopback, data in ${root}; leader ${leader.config.id} at ${formatAddress(leader.config.http)}`,
    );
    const found = ONLY_PURERAFT ? undefined : findEtcd();
    let etcdTarget: WriteTarget | undefined;
    if (found !== undefined) {
      etcd = await EtcdCluster.start(found.binary, join(root, 'etcd'));
      const members = etcd;
      etcdTarget = etcdWrites(() => members.leader(), etcd.pids);
      console.log(
        `etcd ${found.version}: 3 members on loopback (defaults: fsync on), leader at ${await etcd.leader()}`,
      );
    } else if (!ONLY_PURERAFT) console.log(ETCD_INSTALL_HINT);
    console.log(
      `disk: ${fsyncRate.toFixed(0)} fsyncs/s (64-byte write + fdatasync, one writer, same filesystem)\n`,
    );
    if (WARMUP_SECONDS > 0)
      console.log(
        `warming up (BENCH_WARMUP): ${WARMUP_SECONDS} s of writes for each system, ${READ_WARMUP_SECONDS} s of reads on each server before reads are measured on it\n`,
      );
    await warmUp(pureraft);
    if (etcdTarget !== undefined) await warmUp(etcdTarget);

    console.log(
      'clients | pureraft writes/s   p50 ms   p99 ms   errors   cpu-s/1k writes   leader fsyncs/s   writes per fsync' +
        (etcdTarget === undefined ? '' : ' | etcd writes/s   p99 ms   errors   cpu-s/1k writes | ratio'),
    );
    const writeRates = new Map<number, WriteRow>();
    for (const [position, connections] of CONCURRENCIES.entries()) {
      // Alternate which system goes first, so that neither always meets a warmer (or a more tired) machine.
      const runPureraft = async (attempt = 1): Promise<PureraftPhase> => {
        const now = await findLeader(nodes);
        if (now !== currentLeader)
          console.log(`  pureraft: the leader is now ${now.config.id} (an election)`);
        currentLeader = now;
        const syncsBefore = await leaderSyncs(now.httpUrl);
        const termBefore = await termOf(now);
        const prefix = `c${connections}${attempt === 1 ? '' : `-${attempt}`}`;
        const measured = await phase(pureraft, connections, PHASE_SECONDS, prefix);
        const syncs = (await leaderSyncs(now.httpUrl)) - syncsBefore;
        const result = { row: writeRow(measured), syncs, seconds: measured.result.duration };
        // An election mid-phase turns the rest of it into redirects from the old leader: say so, measure again.
        // The same node may have won it again: the term tells.
        const elected = async () => {
          const after = await findLeader(nodes);
          return after !== now || (await termOf(after)) !== termBefore;
        };
        if (result.row.failures > 0 && attempt < 2 && (await elected())) {
          console.log(
            `  pureraft: an election during the phase at ${connections} clients (${result.row.failures} failures; ${await roles(nodes)}): measured again`,
          );
          for (const node of nodes) {
            // The leadership log's lines (role-log.ts): which timer fired, who stepped down and why.
            const told = node.stderr.split('\n').filter((line) => / term \d/.test(line));
            for (const line of told.slice(-4)) console.log(`    ${node.config.id}: ${line}`);
          }
          return runPureraft(attempt + 1);
        }
        return result;
      };
      const runEtcd = async () =>
        etcdTarget === undefined
          ? undefined
          : writeRow(await phase(etcdTarget, connections, PHASE_SECONDS, `c${connections}`));
      let ours: Awaited<ReturnType<typeof runPureraft>>;
      let theirs: WriteRow | undefined;
      if (position % 2 === 0) {
        ours = await runPureraft();
        theirs = await runEtcd();
      } else {
        theirs = await runEtcd();
        ours = await runPureraft();
      }
      writeRates.set(connections, ours.row);
      // Writes go to the leader found before the phase: failures usually mean it lost leadership meanwhile.
      if (ours.row.failures > 0)
        console.log(`  pureraft failures at ${connections} clients; ${await roles(nodes)}`);
      const { row } = ours;
      const columns = [
        pad(connections, 7),
        pad(row.perSecond.toFixed(0), 19),
        pad(row.p50.toFixed(1), 8),
        pad(row.p99.toFixed(1), 8),
        pad(row.failures, 8),
        pad(row.cpuPerThousand.toFixed(3), 17),
        pad((ours.syncs / ours.seconds).toFixed(0), 17),
        pad((row.keys / ours.syncs).toFixed(2), 18),
      ];
      if (theirs !== undefined) {
        columns.push(
          `| ${pad(theirs.perSecond.toFixed(0), 13)}`,
          pad(theirs.p99.toFixed(1), 8),
          pad(theirs.failures, 8),
          pad(theirs.cpuPerThousand.toFixed(3), 17),
          `| ${pad((row.perSecond / theirs.perSecond).toFixed(2), 5)}`,
        );
      }
      console.log(columns.join(' ').replace(/^( *\d+) /, '$1 |'));
    }
    await etcd?.stop();
    etcd = undefined;
    // The read rows: at the numbers of clients the writes ran at too (BENCH_CLIENTS may leave some out).
    const reads = READS && READ_CONCURRENCIES.some((count) => writeRates.has(count));
    if (reads) {
      const now = await findLeader(nodes);
      await readPhases(now, nodes.find((node) => node !== now)!, writeRates, false);
    }
    if (reads && LEASE) {
      await Promise.all(nodes.map((node) => node.kill('SIGTERM')));
      nodes = configs.map((config) => new NodeProcess({ ...config, leaseReads: true }));
      await Promise.all(nodes.map((node) => node.serving()));
      const now = await findLeader(nodes);
      await readPhases(now, nodes.find((node) => node !== now)!, writeRates, true);
    }
    if (reads) {
      await Promise.all(nodes.map((node) => node.kill('SIGTERM')));
      nodes = [];
      await noOpCeiling(writeRates);
    }
  } finally {
    await etcd?.stop();
    await Promise.all(nodes.map((node) => node.kill('SIGTERM')));
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * Reads at each of READ_CONCURRENCIES, of keys the writes at that many clients wrote (a read of a missing key
 * would be a 404, counted as an error): linearizable on the leader and on a follower (which asks the leader for
 * each read index), and, for reference, serializable on the leader (the local state at once: what a read costs
 * without ReadIndex, about the HTTP layer's own limit). Reads/s beside the writes/s of the same run, and how
 * many reads shared each ReadIndex request. `leases`: the cluster runs with lease reads: the linearizable
 * reads only, labelled `lease` (the table's header is printed by the first call).
 */
async function readPhases(
  leader: NodeProcess,
  follower: NodeProcess,
  writeRates: ReadonlyMap<number, WriteRow>,
  leases: boolean,
): Promise<void> {
  if (!leases) {
    console.log(
      '\nreads          at         clients    reads/s   p50 ms   p99 ms   errors   writes/s   reads ÷ writes   reads per ReadIndex',
    );
  }
  const kinds = leases
    ? ([
        ['lease', 'linearizable', 'leader', leader],
        ['lease', 'linearizable', 'follower', follower],
      ] as const)
    : ([
        ['linearizable', 'linearizable', 'leader', leader],
        ['linearizable', 'linearizable', 'follower', follower],
        ['serializable', 'serializable', 'leader', leader],
      ] as const);
  for (const node of new Set([leader, follower])) await warmReads(node.httpUrl, writeRates);
  for (const [label, consistency, name, node] of kinds) {
    for (const connections of READ_CONCURRENCIES.filter((count) => writeRates.has(count))) {
      const written = writeRates.get(connections)!;
      const requestsBefore = await counter(node.httpUrl, 'pureraft_kv_read_index_requests_total');
      const keys = Math.max(1, written.keys);
      const result = await readPhase(node.httpUrl, connections, consistency, written.keyPrefix, keys);
      const requests =
        (await counter(node.httpUrl, 'pureraft_kv_read_index_requests_total')) - requestsBefore;
      readRow(label, name, connections, result, written, requests);
    }
  }
}

/** One row of the reads' table; `readIndexRequests` undefined where reads send none. */
function readRow(
  label: string,
  at: string,
  connections: number,
  result: autocannon.Result,
  written: WriteRow,
  readIndexRequests: number | undefined,
): void {
  const reads = result['2xx'];
  const readsPerSecond = reads / result.duration;
  const perRequest =
    readIndexRequests === undefined || readIndexRequests === 0 ? '-' : (reads / readIndexRequests).toFixed(1);
  console.log(
    [
      label.padEnd(14),
      at.padEnd(8),
      pad(connections, 9),
      pad(readsPerSecond.toFixed(0), 10),
      pad(result.latency.p50.toFixed(1), 8),
      pad(result.latency.p99.toFixed(1), 8),
      pad(result.non2xx + result.errors, 8),
      pad(written.perSecond.toFixed(0), 10),
      pad((readsPerSecond / written.perSecond).toFixed(1), 16),
      pad(perRequest, 21),
    ].join(' '),
  );
}

/**
 * A node:http server in plain JavaScript (no loader, no service) that reads each request and answers it at once
 * with a 100-byte body: the ceiling of the reads' rows. It prints its port, and ends with its parent's stdin.
 */
const NO_OP_SERVER = `
const body = 'v'.repeat(100);
const server = require('node:http').createServer((request, response) => {
  request.resume();
  response.setHeader('content-type', 'application/octet-stream');
  response.end(body);
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.stdin.on('end', () => process.exit(0)).resume();
`;

/** The reads' clients against NO_OP_SERVER, printed as `no-op http` rows of the reads' table. */
async function noOpCeiling(writeRates: ReadonlyMap<number, WriteRow>): Promise<void> {
  const counts = READ_CONCURRENCIES.filter((count) => writeRates.has(count));
  const server = spawn(process.execPath, ['-e', NO_OP_SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<string>((resolvePort, reject) => {
      server.once('error', reject);
      server.once('exit', (code) => reject(new Error(`the no-op HTTP server exited (code ${code})`)));
      server.stdout!.once('data', (chunk: Buffer) => resolvePort(chunk.toString().trim()));
    });
    await warmReads(`http://127.0.0.1:${port}`, writeRates);
    for (const connections of counts) {
      const written = writeRates.get(connections)!;
      const result = await readPhase(`http://127.0.0.1:${port}`, connections, 'serializable', 'x', 1);
      readRow('no-op http', '-', connections, result, written, undefined);
    }
  } finally {
    server.kill();
  }
}

await main();
