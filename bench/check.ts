/**
 * `npm run bench:check`: the linearizability checker's speed on histories of 10 concurrent clients, and, as
 * the baseline measured in the same run on the same histories, the same search without Lowe's memoization,
 * capped (a partition it cannot finish within the cap counts as unfinished, and its time as the cap's).
 */
import { type CheckResult, checkLinearizable } from '../src/check/check.js';
import { type KvOperation, kvModel } from '../src/check/kv-model.js';
import { simulatedHistory } from '../src/check/test-support.js';

/** The baseline's cap per partition: steps, and seconds for a whole history. */
const PLAIN_STEPS = 20_000_000;
const PLAIN_SECONDS = 20;

interface Case {
  readonly name: string;
  readonly history: KvOperation[];
}

/** The history with its last read on `key` answered with the value that key held two writes before. */
function withStaleRead(history: KvOperation[]): KvOperation[] {
  const reads = history.filter((o) => o.input.op === 'get' && o.completed !== undefined);
  const last = reads.at(-1)!;
  const writes = history.filter(
    (o) =>
      o.input.op === 'put' &&
      o.input.key === last.input.key &&
      o.completed !== undefined &&
      o.completed < last.invoked,
  );
  const stale = writes.at(-3)!.input as { value: string };
  return history.map((o) => (o === last ? { ...o, output: { value: stale.value } } : o));
}

const typical = (seed: number, keys: number, operations: number, unknownRate: number) =>
  simulatedHistory(seed, { clients: 10, keys, operations, maxLatency: 30, unknownRate });

/** Typical: what the fault suite records (few writes of unknown outcome), legal or with one stale read. */
const cases: (Case & { typical: boolean })[] = [
  { name: '10 clients, 10 keys, 0.1% unknown', history: typical(1, 10, 100_000, 0.001), typical: true },
  { name: '10 clients, 10 keys, 1% unknown', history: typical(2, 10, 100_000, 0.01), typical: true },
  { name: '10 clients, 1 key, 1% unknown', history: typical(3, 1, 20_000, 0.01), typical: true },
  {
    name: '10 clients, 10 keys, a stale read',
    history: withStaleRead(typical(4, 10, 100_000, 0)),
    typical: true,
  },
  // The hard case: to refute, every place each pending unknown write could take effect is tried.
  {
    name: 'hard: 1 key, 1% unknown, a stale read',
    history: withStaleRead(typical(5, 1, 2_000, 0.01)),
    typical: false,
  },
];

function timed<T>(run: () => T): [T, number] {
  const started = performance.now();
  const result = run();
  return [result, performance.now() - started];
}

const rate = (operations: number, ms: number) => Math.round(operations / (ms / 1000));
const rows: string[][] = [
  [
    'history',
    'ops',
    'verdict',
    'memo ms',
    'memo ops/s',
    'plain ms',
    'plain ops/s',
    'plain finished',
    'speed-up',
  ],
];
let total = 0;
let totalMs = 0;
for (const { name, history, typical } of cases) {
  // The best of three: the first run warms the JIT up.
  const runs = [0, 1, 2].map(() => timed(() => checkLinearizable(kvModel, history, { explain: false })));
  const [result, ms] = runs.reduce((best, run) => (run[1] < best[1] ? run : best));
  if (typical) {
    total += history.length;
    totalMs += ms;
  }
  const [plain, plainMs] = timed(() =>
    checkLinearizable(kvModel, history, {
      explain: false,
      memo: false,
      maxSteps: PLAIN_STEPS,
      budgetMs: PLAIN_SECONDS * 1000,
    }),
  );
  const finished = (r: CheckResult<unknown, unknown>) =>
    r.partitions.filter((p) => p.verdict !== 'unknown').length;
  rows.push([
    name,
    String(history.length),
    result.verdict,
    ms.toFixed(0),
    String(rate(history.length, ms)),
    plainMs.toFixed(0),
    String(rate(history.length, plainMs)),
    `${finished(plain)}/${plain.partitions.length}`,
    `${(plainMs / ms).toFixed(1)}×${finished(plain) < plain.partitions.length ? ' (at least)' : ''}`,
  ]);
}
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
for (const row of rows)
  console.log(
    row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
  );
console.log(
  `\ntypical histories: ${total} operations in ${totalMs.toFixed(0)} ms: ${rate(total, totalMs)} operations/s (target ≥ 50,000)`,
);
