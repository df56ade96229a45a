/**
 * The fault suite, short: every fault once on a real cluster behind the proxies (kill -9, SIGSTOP, partitions,
 * a bridge, one-way loss, a slow disk; a follower and the leader removed and added back, on both sizes), with
 * every end check; and proof that the checks bite, a deliberately broken service caught in a bounded run.
 * `pureraft torture` runs the long version.
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFault, type FaultName } from '../../src/check/torture/faults.js';
import { type RunOptions, type RunReport, tortureRun } from '../../src/check/torture/run.js';

const seed = Number(process.env.FAULT_SEED ?? Date.now() % 2 ** 31);
console.log(`fault suite: FAULT_SEED=${seed}`);

/** Each listed fault once, briefly: a fault lasts 0.8–1.2 s after 0.2–0.4 s of quiet. */
function short(
  nodes: number,
  faults: readonly FaultName[],
  extra: Partial<RunOptions> = {},
): Promise<RunReport> {
  return tortureRun({
    nodes,
    // A bound: the run ends once each fault was injected and healed, in about half of it on a loaded machine.
    durationMs: 60_000,
    faults,
    schedule: { quietMs: [200, 400], faultMs: [800, 1_200], maxFaults: faults.length },
    workload: { clients: 6, keys: 4 },
    seed,
    outDir: join(tmpdir(), 'pureraft-faults'),
    log: (line) => console.log(line),
    ...extra,
  });
}

const explain = (report: RunReport) =>
  `${report.checks.map((c) => `${c.ok ? 'ok' : 'FAILED'} ${c.name}: ${c.detail}`).join('\n')}\nevidence: ${report.folder}`;

/** On both sizes: removing one of three voters and one of five leave quorums of different shapes. */
const membershipFaults = ['remove-follower', 'remove-leader'] as const;

describe('faults on a real cluster', () => {
  it.each([
    [3, ['kill-leader', 'kill-follower', 'crash-all', 'pause-leader', 'pause-follower', ...membershipFaults]],
    [5, ['partition-halves', 'partition-leader', 'bridge', 'one-way', 'slow-disk', ...membershipFaults]],
  ] as const)(
    '%i nodes: %j, each once, healed: every check holds',
    async (nodes, faults) => {
      const report = await short(nodes, faults);
      expect(report.verdict, explain(report)).toBe('ok');
      expect(report.faults.map((f) => f.name).sort()).toEqual([...faults].sort());
      // The membership faults say what adding the node back took; they never fail silently.
      for (const fault of report.faults.filter((f) => membershipFaults.some((name) => name === f.name)))
        expect(fault.healed, describeFault(fault)).toMatch(/^n\d a voter again/);
      expect(report.operations).toBeGreaterThan(100);
    },
    120_000,
  );
});

describe('the checks bite', () => {
  it('reads from a node’s local state (no ReadIndex) are caught', async () => {
    const report = await short(3, ['partition-leader', 'pause-follower'], {
      workload: { clients: 6, keys: 4, reads: 'local' },
    });
    expect(report.verdict).toBe('failed');
    expect(report.linearizability.verdict).toBe('not-linearizable');
    expect(report.folder).toBeDefined();
    await rm(report.folder!, { recursive: true, force: true }); // expected evidence: not worth keeping
  }, 120_000);

  it('acknowledgements before the fsync are caught', async () => {
    // Syncs of a second keep every write acknowledged in the last second in memory only: a crash of every node
    // while the clients are busy loses some, however slowly a loaded machine serves.
    const report = await short(3, ['crash-all', 'crash-all'], {
      diskFaults: { ackBeforeFsync: true, fsyncDelayMs: 1_000 },
      schedule: { quietMs: [2_000, 2_500], faultMs: [500, 500], maxFaults: 2 },
    });
    expect(report.verdict).toBe('failed');
    expect(report.checks.filter((c) => !c.ok).map((c) => c.name)).toContain('logs agree');
    await rm(report.folder!, { recursive: true, force: true });
  }, 120_000);
});
