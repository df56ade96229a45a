/**
 * A run reports what it did, on a real cluster: one whose linearizability check ran out of time ('unknown')
 * keeps its evidence like a failed run, saying so and how to check its history again; one that injected no fault
 * or recorded no client operation fails instead of passing.
 */
import { exec } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import type { CheckResult } from '../../src/check/check.js';
import { type RunReport, tortureRun } from '../../src/check/torture/run.js';

/** When set, the checker's answer for a linearizable history becomes 'unknown', as if it ran out of time. */
const checker = vi.hoisted(() => ({ outOfTime: false }));

vi.mock('../../src/check/check.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/check/check.js')>();
  return {
    ...original,
    checkLinearizable: (...args: Parameters<typeof original.checkLinearizable>) => {
      const result = original.checkLinearizable(...args) as CheckResult<unknown, unknown>;
      if (!checker.outOfTime || result.verdict !== 'linearizable') return result;
      return {
        ...result,
        verdict: 'unknown',
        partitions: result.partitions.map((p, i) => (i === 0 ? { ...p, verdict: 'unknown' } : p)),
      };
    },
  };
});

const outDir = join(tmpdir(), 'pureraft-faults');
const explain = (report: RunReport) =>
  report.checks.map((c) => `${c.ok ? 'ok' : 'FAILED'} ${c.name}: ${c.detail}`).join('\n');

describe('a torture run tells the truth', () => {
  it('an unknown verdict keeps the history, and says how to check it again', async () => {
    checker.outOfTime = true;
    try {
      const report = await tortureRun({
        nodes: 3,
        durationMs: 4_000,
        faults: ['pause-follower'],
        schedule: { quietMs: [200, 400], faultMs: [500, 800], maxFaults: 1 },
        workload: { clients: 4, keys: 2 },
        seed: 11,
        outDir,
      });
      expect(report.verdict, explain(report)).toBe('unknown');
      expect(report.folder).toBeDefined();
      const readme = await readFile(join(report.folder!, 'README.txt'), 'utf8');
      expect(readme).toMatch(/^pureraft torture: unknown, seed 11/);
      expect(readme).toContain(
        'Not a pass: the linearizability check ran out of its budget (20000 ms per key)',
      );
      const history = JSON.parse(await readFile(join(report.folder!, 'history.json'), 'utf8'));
      expect(history.operations.length).toBe(report.operations);
      // The command it gives checks the kept history again (here with the real checker: linearizable).
      const recheck = readme.split('\n').find((line) => line.trimStart().startsWith('npx tsx -e'));
      expect(recheck).toBeDefined();
      const { stdout } = await promisify(exec)(recheck!.trim(), { timeout: 20_000 });
      expect(stdout.trim()).toBe('linearizable');
      await rm(report.folder!, { recursive: true, force: true });
    } finally {
      checker.outOfTime = false;
    }
  }, 60_000);

  it('a run that injected no fault and recorded no client operation fails', async () => {
    const report = await tortureRun({
      nodes: 3,
      // Over before the first fault: the quiet spell before it lasts longer.
      durationMs: 100,
      faults: ['pause-follower'],
      schedule: { quietMs: [1_000, 1_000], faultMs: [500, 500] },
      workload: { clients: 0 },
      seed: 12,
      outDir,
    });
    expect(report.verdict, explain(report)).toBe('failed');
    expect(report.faults).toEqual([]);
    const failed = Object.fromEntries(report.checks.filter((c) => !c.ok).map((c) => [c.name, c.detail]));
    expect(failed).toEqual({
      'faults healed': 'no fault was injected: the run (100 ms) ended before the first',
      'client operations': 'the 0 clients recorded no operation',
    });
    expect(report.folder).toBeDefined();
    await rm(report.folder!, { recursive: true, force: true });
  }, 60_000);
});
