/**
 * The cost of one replicated entry as the log grows: propose on the leader of a 3-node cluster, deliver every
 * message, until the entry is committed and applied everywhere. The log is a persistent structure, so that
 * cost must stay flat from a 1,000-entry log to a 1,000,000-entry one. As a baseline measured in the same
 * run: what a log copied on every append (an immutable array, as naive immer use would give) costs.
 *
 *   npm run bench            (BENCH_ENTRIES=5000 to measure more proposals per size)
 */
import { type Cmd, cluster, durable, elect, entry, settle } from '../test/support/core.js';

const SIZES = [1_000, 10_000, 100_000, 1_000_000];
const PROPOSALS = Number(process.env.BENCH_ENTRIES ?? 3000);

function replicatedEntryCost(logSize: number): number {
  const log = Array.from({ length: logSize }, (_, i) => entry(i + 1, 1, `v${i + 1}`));
  const made = cluster(['a', 'b', 'c'], { a: durable(1, log), b: durable(1, log), c: durable(1, log) });
  elect(made, 'a');
  const replicate = (command: Cmd) => {
    made.propose('a', command);
    settle(made);
  };
  for (let i = 0; i < 200; i++) replicate(`warm${i}`);
  const started = performance.now();
  for (let i = 0; i < PROPOSALS; i++) replicate(`p${i}`);
  const perEntry = (performance.now() - started) / PROPOSALS;
  // The leader applied everything; a follower learns the last commit with the next append.
  const expected = logSize + 1 + 200 + PROPOSALS;
  if (made.node('a').appliedIndex !== expected || made.node('c').appliedIndex !== expected - 1) {
    throw new Error(
      `expected every entry applied, got ${made.node('a').appliedIndex}, ${made.node('c').appliedIndex}`,
    );
  }
  return perEntry * 1000;
}

function copyOnAppendCost(logSize: number): number {
  let log: readonly Cmd[] = Array.from({ length: logSize }, (_, i) => `v${i}`);
  const appends = Math.max(20, Math.min(2000, 2e7 / logSize));
  const started = performance.now();
  for (let i = 0; i < appends; i++) log = [...log, `p${i}`];
  return ((performance.now() - started) / appends) * 1000;
}

// Warm the JIT up first, so that the 1k baseline is not measured cold.
replicatedEntryCost(SIZES[0]!);
const rows = SIZES.map((size) => ({ size, raft: replicatedEntryCost(size), copy: copyOnAppendCost(size) }));
const base = rows[0]!;
console.log(`one replicated entry (3 nodes, propose → commit → apply), ${PROPOSALS} proposals per size`);
console.log('log entries  µs/entry  ratio vs 1k   | baseline: copy-on-append µs/append  ratio vs 1k');
for (const { size, raft, copy } of rows) {
  console.log(
    `${size.toLocaleString('en-US').padStart(11)}  ${raft.toFixed(2).padStart(8)}  ${(raft / base.raft).toFixed(2).padStart(11)}   | ${copy.toFixed(2).padStart(35)}  ${(copy / base.copy).toFixed(1).padStart(11)}`,
  );
}
const worst = rows[rows.length - 1]!;
console.log(
  `ratio 1,000,000 / 1,000 entries: ${(worst.raft / base.raft).toFixed(2)} (copy-on-append: ${(worst.copy / base.copy).toFixed(0)})`,
);
