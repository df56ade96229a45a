/**
 * `pureraft torture` tells the truth in its exit code and summary: an unknown verdict (the linearizability check
 * ran out of time) is not a pass; flag values that would inject or check nothing are refused as bad usage.
 * The runs are stand-ins here (run.js mocked): what a run reports is up to each test.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RunOptions, RunReport } from '../../src/check/torture/run.js';
import { formatSummary } from '../../src/check/torture/summary.js';
import { UsageError } from '../../src/cli/flags.js';

const runs = vi.hoisted(() => ({ verdicts: [] as string[], calls: 0, durations: [] as number[] }));

vi.mock('../../src/check/torture/run.js', () => ({
  tortureRun: async (options: RunOptions): Promise<RunReport> => {
    runs.durations.push(options.durationMs);
    return report(runs.verdicts[runs.calls++] ?? 'ok', options);
  },
}));

function report(verdict: string, options: { seed: number; nodes: number }): RunReport {
  const unknown = verdict === 'unknown';
  return {
    seed: options.seed,
    nodes: options.nodes,
    operations: 5_000,
    unknown: 40,
    faults: [],
    verdict: verdict as RunReport['verdict'],
    checks: [
      {
        name: 'linearizable',
        ok: verdict !== 'failed',
        detail: `${unknown ? 'unknown' : 'linearizable'} (5000 operations, 20000 ms)`,
      },
    ],
    linearizability: {
      verdict: unknown ? 'unknown' : verdict === 'failed' ? 'not-linearizable' : 'linearizable',
      operations: 5_000,
      partitions: [],
      elapsedMs: 20_000,
    },
    ...(verdict !== 'ok' && { folder: `/out/seed-${options.seed}` }),
    elapsedMs: 60_000,
  };
}

/** Runs the command on `verdicts` (one run per verdict: --minutes 0 makes one run, so only the first counts). */
async function torture(verdicts: string[], ...args: string[]) {
  runs.verdicts = verdicts;
  runs.calls = 0;
  const { tortureCommand } = await import('../../src/check/torture/command.js');
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((text) => {
    out.push(String(text));
    return true;
  });
  try {
    const code = await tortureCommand.run(['--minutes', '0', '--seed', '7', ...args]);
    return { code, stdout: out.join('') };
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('pureraft torture: an unknown verdict is not a pass', () => {
  it('exits 3 and counts the unknown run in the total line', async () => {
    const { code, stdout } = await torture(['unknown']);
    expect(code).toBe(3);
    const total = stdout.split('\n').find((line) => line.startsWith('all'));
    expect(total).toMatch(/1 unknown$/);
    expect(stdout).not.toContain('no failure');
    expect(stdout).toContain('run 1: unknown: evidence in /out/seed-7');
  });

  it('with --minutes 0, makes one whole run of --run-seconds (it was cut to 10 s)', async () => {
    runs.durations = [];
    const { stdout } = await torture(['ok'], '--run-seconds', '20');
    expect(runs.durations).toEqual([20_000]);
    expect(stdout).toContain('run 1: seed 7, 3 nodes, 20 s');
  });

  it('exits 1 when a run failed, whatever else was unknown; 0 only when every run passed', async () => {
    expect((await torture(['failed'])).code).toBe(1);
    expect((await torture(['ok'])).code).toBe(0);
    expect((await torture(['ok'])).stdout).toMatch(/no failure\n$/);
  });

  it('the total line counts failed and unknown runs apart', () => {
    const reports = ['ok', 'unknown', 'failed', 'unknown'].map((verdict, i) =>
      report(verdict, { seed: i, nodes: 3 }),
    );
    expect(formatSummary(reports).split('\n').at(-1)).toMatch(/1 failed, 2 unknown$/);
    expect(formatSummary(reports.slice(0, 2)).split('\n').at(-1)).toMatch(/ 1 unknown$/);
    expect(formatSummary(reports.slice(0, 1)).split('\n').at(-1)).toMatch(/no failure$/);
  });

  it('the help tells the exit codes and what a seed reproduces', async () => {
    const { tortureCommand } = await import('../../src/check/torture/command.js');
    const { usage } = await import('../../src/cli/flags.js');
    const help = usage(tortureCommand.spec);
    expect(help).toMatch(
      /Exit code: 0 every run passed; 1 a run failed.*; 2 bad usage; 3 no run failed but/s,
    );
    expect(help).toMatch(/Seeds: a run's seed fixes each client's sequence of operations/);
    expect(help).toMatch(/which node leads when\s+a fault picks "the leader"/);
  });
});

describe('pureraft torture: values out of range, or that would inject or check nothing, are bad usage', () => {
  it.each([
    [['--clients', '0'], /--clients must be at least 1, got 0/],
    [['--clients=-3'], /--clients must be at least 1, got -3/],
    [['--keys', '0'], /--keys must be at least 1, got 0/],
    [['--run-seconds', '0'], /--run-seconds must be at least 1, got 0/],
    [['--run-seconds=-10'], /--run-seconds must be at least 1, got -10/],
    [['--minutes=-1'], /--minutes must be at least 0, got -1/],
    [['--seed=-1'], /--seed must be between 0 and 4294967295, got -1/],
    [['--seed', '4294967296'], /--seed must be between 0 and 4294967295, got 4294967296/],
  ])('%j is refused', async (args, message) => {
    const attempt = torture(['ok'], ...args);
    await expect(attempt).rejects.toThrow(UsageError);
    await expect(attempt).rejects.toThrow(message);
    expect(runs.calls).toBe(0);
  });

  it('the command line answers with the usage and exit code 2', () => {
    const result = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'torture',
        '--clients',
        '0',
        '--run-seconds',
        '0',
        '--minutes',
        '0',
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /^pureraft torture: --run-seconds must be at least 1, got 0\n\nUsage: pureraft torture/,
    );
    expect(result.stdout).toBe('');
  }, 30_000);
});
