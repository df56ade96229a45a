/**
 * The long fuzz run: `npm run fuzz:long` (FUZZ_INPUTS, default 100,000 per fuzzer; FUZZ_SEED, default 1).
 * Prints each fuzzer's outcomes, slowest input and heap growth, and every failure with its input number;
 * exits 1 if any fuzzer failed.
 */
import { fuzzFrameDecoding, fuzzLiveTransport } from './frames.js';
import { fuzzHttpServer, fuzzRequestParsing } from './http.js';
import type { FuzzReport } from './mutate.js';

const inputs = Number(process.env.FUZZ_INPUTS ?? 100_000);
const seed = Number(process.env.FUZZ_SEED ?? 1);

const fuzzers: [string, () => FuzzReport | Promise<FuzzReport>][] = [
  ['frame decoder and readers', () => fuzzFrameDecoding(inputs, seed)],
  ['live transport (sealed frames)', () => fuzzLiveTransport(inputs, seed)],
  ['API request parsing', () => fuzzRequestParsing(inputs, seed)],
  ['live HTTP server (raw requests)', () => fuzzHttpServer(inputs, seed)],
];

let failed = false;
process.stdout.write(`fuzzing with ${inputs.toLocaleString('en')} inputs each, seed ${seed}\n`);
for (const [name, run] of fuzzers) {
  const startedAt = Date.now();
  const report = await run();
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  const heap = (report.heapGrowthBytes / 1024 / 1024).toFixed(1);
  process.stdout.write(
    `\n${name}: ${report.inputs.toLocaleString('en')} inputs in ${seconds} s, ` +
      `${report.failures.length} failures, slowest ${report.slowestMs.toFixed(1)} ms, heap growth ${heap} MiB\n`,
  );
  const outcomes = Object.entries(report.outcomes).sort(([a], [b]) => a.localeCompare(b));
  for (const [outcome, count] of outcomes)
    process.stdout.write(`  ${outcome}: ${count.toLocaleString('en')}\n`);
  for (const { input, problem } of report.failures.slice(0, 10))
    process.stdout.write(`  FAILED at input ${input}: ${problem}\n`);
  failed ||= report.failures.length > 0;
}
process.exitCode = failed ? 1 : 0;
