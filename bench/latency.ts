/**
 * Where a single write's latency goes: a 3-node cluster of real processes on loopback (fsync on, as in
 * bench/kv.ts) with latency marks on (PURERAFT_LATENCY_TRACE, runtime/node/latency.ts), one client writing N
 * fresh keys one after the other, then the median of each stage of a write's way:
 *
 *   client → service took it → proposed (index known) → sent to the followers / written on the leader →
 *   received on a follower → written there → acknowledged → acknowledgement at the leader → committed →
 *   applied on the leader → replied → response at the client
 *
 * Every process stamps with CLOCK_MONOTONIC (process.hrtime), one clock for the machine, so the marks of the
 * client and of the three nodes line up. Run: npm run bench:latency (LATENCY_WRITES, default 1000).
 *
 * First, unmeasured, LATENCY_WARMUP seconds (default 20) of the same writes: V8 compiles the nodes' code only as
 * it runs, and a cluster at 1 client took some 30 s to reach its steady rate (see bench/kv.ts, BENCH_WARMUP).
 */

import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join, resolve } from 'node:path';
import { NodeProcess } from '../src/cli/launcher.js';
import { type KvNodeConfig, LATENCY_TRACE_ENV } from '../src/kv/index.js';
import { localClusterConfigs } from '../src/kv/test-support.js';
import { type LatencyRecord, type LatencyStage, parseLatencyRecords } from '../src/runtime/node/index.js';
import { secondsFromEnv } from './env.js';

const WRITES = Number(process.env.LATENCY_WRITES ?? 1000);
const WARMUP_MS = 1_000 * secondsFromEnv('LATENCY_WARMUP', 20, 100);
/**
 * The warm-up's writes are marked too, and a node keeps at most DEFAULT_LATENCY_LIMIT marks (about 8 a write on
 * the leader): past this many warm-up writes the warm-up ends early, so that the measured writes keep theirs.
 */
const WARMUP_WRITES_MAX = 15_000;
const VALUE = 'v'.repeat(100);
/** The whole run is bounded: past this, the writes stop where they are. */
const RUN_LIMIT_MS = 120_000;

const now = () => Number(process.hrtime.bigint());

/** One PUT over a kept-alive connection: the client's send and receive times, and the status. */
function put(agent: Agent, url: URL, key: string): Promise<{ sent: number; done: number; status: number }> {
  return new Promise((resolvePut, reject) => {
    const sent = now();
    const req = request(
      { agent, host: url.hostname, port: url.port, method: 'PUT', path: `/kv/${key}`, timeout: 10_000 },
      (response) => {
        response.resume();
        response.on('end', () => resolvePut({ sent, done: now(), status: response.statusCode ?? 0 }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.end(VALUE);
  });
}

async function findLeader(nodes: readonly NodeProcess[]): Promise<NodeProcess> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    for (const node of nodes) {
      const status = await fetch(`${node.httpUrl}/status`)
        .then((r) => r.json() as Promise<{ role: string }>)
        .catch(() => undefined);
      if (status?.role === 'leader') return node;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no leader within 15 s');
}

/** The stages of one write, in ns, once its records are found: undefined where a mark is missing. */
interface Write {
  readonly sent: number;
  readonly done: number;
  readonly index: number;
  readonly at: (node: string, stage: LatencyStage, peer?: string) => number | undefined;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  await mkdir(resolve('.data'), { recursive: true });
  const root = await mkdtemp(resolve('.data', 'latency-'));
  const marks = join(root, 'marks');
  await mkdir(marks);
  const configs: KvNodeConfig[] = (await localClusterConfigs(['n1', 'n2', 'n3'], root)).map((config) => ({
    ...config,
    electionTimeout: [400, 800],
    heartbeatInterval: 100,
  }));
  const nodes = configs.map(
    (config) => new NodeProcess(config, () => {}, { env: { [LATENCY_TRACE_ENV]: marks } }),
  );
  const timings: { sent: number; done: number }[] = [];
  let leaderId: string;
  try {
    await Promise.all(nodes.map((node) => node.serving()));
    const leader = await findLeader(nodes);
    leaderId = leader.config.id;
    const url = new URL(leader.httpUrl);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const deadline = Date.now() + RUN_LIMIT_MS;
    const warm = Date.now() + WARMUP_MS;
    for (let i = 0; i < WARMUP_WRITES_MAX && Date.now() < warm && Date.now() < deadline; i++)
      await put(agent, url, `warmup-${i}`);
    for (let i = 0; i < WRITES && Date.now() < deadline; i++) {
      const write = await put(agent, url, `key-${i}`);
      if (write.status !== 200) throw new Error(`PUT answered ${write.status}`);
      timings.push(write);
    }
    agent.destroy();
  } finally {
    // A clean stop writes each node's marks.
    await Promise.all(nodes.map((node) => node.kill('SIGTERM')));
  }
  const records: LatencyRecord[] = [];
  for (const { id } of configs) {
    // A loop, not push(...): a spread of 100k+ records overflows the stack.
    for (const record of parseLatencyRecords(await readFile(join(marks, `${id}.latency.jsonl`), 'utf8')))
      records.push(record);
  }
  await rm(root, { recursive: true, force: true });
  report(
    analyse(timings, records, leaderId),
    leaderId,
    configs.map((c) => c.id).filter((id) => id !== leaderId),
  );
}

/** Each client write with its index: the leader's `proposed` mark inside the write's window. */
function analyse(
  timings: readonly { sent: number; done: number }[],
  records: readonly LatencyRecord[],
  leaderId: string,
): Write[] {
  const byIndex = new Map<number, LatencyRecord[]>();
  for (const record of records) {
    if (record.index === 0) continue;
    const list = byIndex.get(record.index) ?? [];
    list.push(record);
    byIndex.set(record.index, list);
  }
  const service = records.filter((r) => r.node === leaderId && r.index === 0).sort((a, b) => a.ns - b.ns);
  const proposed = records
    .filter((r) => r.node === leaderId && r.stage === 'proposed')
    .sort((a, b) => a.ns - b.ns);
  const inWindow = (list: readonly LatencyRecord[], stage: LatencyStage, sent: number, done: number) =>
    list.find((r) => r.stage === stage && r.ns >= sent && r.ns <= done)?.ns;
  return timings.flatMap(({ sent, done }) => {
    const index = proposed.find((r) => r.ns >= sent && r.ns <= done)?.index;
    if (index === undefined) return [];
    const forIndex = byIndex.get(index) ?? [];
    const serviceMarks = {
      request: inWindow(service, 'request', sent, done),
      reply: inWindow(service, 'reply', sent, done),
    };
    const at = (node: string, stage: LatencyStage, peer?: string) => {
      if (node === leaderId && (stage === 'request' || stage === 'reply')) return serviceMarks[stage];
      const found = forIndex.filter(
        (r) => r.node === node && r.stage === stage && (peer === undefined || r.peer === peer),
      );
      return found.length === 0 ? undefined : Math.min(...found.map((r) => r.ns));
    };
    return [{ sent, done, index, at }];
  });
}

function report(writes: readonly Write[], leader: string, followers: readonly string[]): void {
  const rows: [string, (w: Write) => number | undefined][] = [];
  const span = (from: number | undefined, to: number | undefined) =>
    from === undefined || to === undefined ? undefined : to - from;
  /** The follower whose acknowledgement reached the leader first: the one that made the commit. */
  const first = (w: Write) => {
    const acks = followers.map((f) => ({
      f,
      ns: w.at(leader, 'ackReceived', f) ?? Number.POSITIVE_INFINITY,
    }));
    return acks.sort((a, b) => a.ns - b.ns)[0]!.f;
  };
  rows.push(
    [
      'client sends → service has the request (HTTP in, body read)',
      (w) => span(w.sent, w.at(leader, 'request')),
    ],
    [
      '→ proposed (batcher, event queue, reducer step)',
      (w) => span(w.at(leader, 'request'), w.at(leader, 'proposed')),
    ],
    ['→ sent to the first follower', (w) => span(w.at(leader, 'proposed'), w.at(leader, 'sent'))],
    [
      'proposed → durable on the leader (its own fsync)',
      (w) => span(w.at(leader, 'proposed'), w.at(leader, 'persisted')),
    ],
    [
      'sent → received on the follower that acked first',
      (w) => span(w.at(leader, 'sent', first(w)), w.at(first(w), 'received')),
    ],
    [
      '→ durable on that follower (its fsync)',
      (w) => span(w.at(first(w), 'received'), w.at(first(w), 'persisted')),
    ],
    ['→ acknowledgement sent', (w) => span(w.at(first(w), 'persisted'), w.at(first(w), 'acked'))],
    [
      '→ acknowledgement at the leader',
      (w) => span(w.at(first(w), 'acked'), w.at(leader, 'ackReceived', first(w))),
    ],
    ['→ committed', (w) => span(w.at(leader, 'ackReceived', first(w)), w.at(leader, 'committed'))],
    ['→ applied on the leader', (w) => span(w.at(leader, 'committed'), w.at(leader, 'applied'))],
    [
      '→ replied (result through the batcher to HTTP)',
      (w) => span(w.at(leader, 'applied'), w.at(leader, 'reply')),
    ],
    ['→ response at the client', (w) => span(w.at(leader, 'reply'), w.done)],
    ['total, at the client', (w) => w.done - w.sent],
    ['proposed → committed', (w) => span(w.at(leader, 'proposed'), w.at(leader, 'committed'))],
  );
  console.log(`${writes.length} sequential writes, 1 client, 3 nodes (leader ${leader}); µs`);
  console.log(`${'stage'.padEnd(64)} ${'p50'.padStart(8)} ${'p90'.padStart(8)} ${'p99'.padStart(8)}   n`);
  for (const [name, of] of rows) {
    const values = writes.flatMap((w) => {
      const v = of(w);
      return v === undefined ? [] : [v / 1_000];
    });
    const cell = (v: number) => v.toFixed(0).padStart(8);
    console.log(
      `${name.padEnd(64)} ${cell(median(values))} ${cell(quantile(values, 0.9))} ${cell(quantile(values, 0.99))}   ${values.length}`,
    );
  }
  const leaderLast = writes.filter((w) => {
    const durable = w.at(leader, 'persisted');
    const ack = w.at(leader, 'ackReceived', first(w));
    return durable !== undefined && ack !== undefined && durable > ack;
  }).length;
  console.log(
    `\nthe leader's own fsync ended after the first acknowledgement in ${leaderLast} of ${writes.length} writes`,
  );
}

await main();
