/**
 * A few thousand fuzzed inputs for each parser of network bytes, on every `npm test`; `npm run fuzz:long` runs
 * the same fuzzers on 100,000 inputs each (see long-run.ts). A failure names its seed and input number.
 */
import { describe, expect, it } from 'vitest';
import { fuzzFrameDecoding, fuzzLiveTransport } from './frames.js';
import { fuzzHttpServer, fuzzRequestParsing } from './http.js';
import type { FuzzReport } from './mutate.js';

const seed = Number(process.env.FUZZ_SEED ?? 1);
const MiB = 1024 * 1024;

function expectClean(report: FuzzReport, slowestMs: number): void {
  expect(report.failures.slice(0, 3)).toEqual([]);
  expect(report.slowestMs).toBeLessThan(slowestMs);
  expect(report.heapGrowthBytes).toBeLessThan(64 * MiB);
}

describe(`fuzzing, seed ${seed}`, () => {
  it('the frame decoder and every reader of frames: 4,000 inputs', () => {
    expectClean(fuzzFrameDecoding(4_000, seed), 1_000);
  });

  it('a live transport, fed 1,000 sealed fuzzed frames by a member', async () => {
    const report = await fuzzLiveTransport(1_000, seed);
    expectClean(report, 30_000);
    expect(report.outcomes.delivered).toBeGreaterThan(0);
  });

  it("the API's request parsing: 4,000 inputs", () => {
    expectClean(fuzzRequestParsing(4_000, seed), 1_000);
  });

  it('a live HTTP server: 1,500 raw requests', async () => {
    expectClean(await fuzzHttpServer(1_500, seed), 5_000);
  });
});
