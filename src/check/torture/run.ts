/**
 * One torture run: a real cluster behind proxies, clients recording a history, faults on a schedule, then,
 * once everything is healed: the cluster must serve again within a bound, converge on one log and one state,
 * have applied every acknowledged write, replay every trace exactly, and the history must be linearizable.
 * A run must also have done something: injected a fault (when faults were asked for) and recorded client
 * operations. A failed run keeps its evidence in a folder (failure-folder.ts), and so does one whose
 * linearizability check ran out of time ('unknown'), so that its history can be checked again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Membership } from '../../core/index.js';
import { type CheckResult, checkLinearizable } from '../check.js';
import type { KvInput, KvOutput } from '../kv-model.js';
import { kvModel } from '../kv-model.js';
import { DEFAULT_WORKLOAD, Workload, type WorkloadOptions } from './client.js';
import { poll, sleep, TortureCluster } from './cluster.js';
import { saveFailure } from './failure-folder.js';
import { type FaultName, type FaultWindow, runSchedule, type ScheduleOptions } from './faults.js';
import type { DiskFaults } from './inject.js';
import { Random } from './random.js';
import { analyzeTraces } from './traces.js';

export interface RunOptions {
  readonly nodes: number;
  /** How long the clients and the faults run, ms. */
  readonly durationMs: number;
  readonly faults: readonly FaultName[];
  readonly schedule?: Omit<ScheduleOptions, 'faults'>;
  readonly workload?: Partial<WorkloadOptions>;
  readonly seed: number;
  /** Disk faults every node has from the start (the broken service's switch). */
  readonly diskFaults?: DiskFaults;
  /** After healing, the cluster must serve a write and a read within this, ms. Default 15 s. */
  readonly recoveryMs?: number;
  /** Where a failed run's folder goes. */
  readonly outDir: string;
  /** Replay the traces (every transition, every applied entry). Default true. */
  readonly checkTraces?: boolean;
  /** More of Node's own arguments for every node process (a test's preload, say). */
  readonly nodeArgs?: readonly string[];
  readonly log?: (line: string) => void;
}

export interface CheckOutcome {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface RunReport {
  readonly seed: number;
  readonly nodes: number;
  readonly operations: number;
  readonly unknown: number;
  readonly faults: readonly FaultWindow[];
  /** 'unknown': nothing failed, but the checker ran out of time on some key. */
  readonly verdict: 'ok' | 'failed' | 'unknown';
  readonly checks: readonly CheckOutcome[];
  readonly linearizability: CheckResult<KvInput, KvOutput>;
  readonly folder?: string;
  readonly elapsedMs: number;
}

const DEFAULT_SCHEDULE = { quietMs: [1_000, 3_000], faultMs: [2_000, 5_000] } as const;
/** Time the linearizability check may take per partition (key) before it says 'unknown'. */
export const CHECK_BUDGET_MS = 20_000;

function wholeCluster(membership: Membership, ids: readonly string[]): boolean {
  return (
    membership.outgoing === undefined &&
    membership.learners.length === 0 &&
    [...membership.voters].sort().join() === [...ids].sort().join()
  );
}

/**
 * Runs the cluster, the clients and the faults, and checks. Rejects if the cluster does not start (with nothing
 * left running: no node, no proxy, no temporary directory); any later trouble fails the run instead.
 */
export async function tortureRun(options: RunOptions): Promise<RunReport> {
  const began = performance.now();
  const ids = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
  const root = await mkdtemp(join(tmpdir(), 'pureraft-torture-'));
  try {
    const cluster = await TortureCluster.start({
      ids,
      root,
      ...(options.diskFaults && { diskFaults: options.diskFaults }),
      ...(options.nodeArgs && { nodeArgs: options.nodeArgs }),
    });
    return await exercise(cluster, options, began);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function exercise(cluster: TortureCluster, options: RunOptions, began: number): Promise<RunReport> {
  const log = options.log ?? (() => {});
  const ids = cluster.ids;
  const random = new Random(options.seed);
  const timeline: FaultWindow[] = [];
  const checks: CheckOutcome[] = [];
  const check = (name: string, ok: boolean, detail: string) => {
    checks.push({ name, ok, detail });
    if (!ok) log(`  ✗ ${name}: ${detail}`);
  };
  const workload = new Workload(cluster.urls, { ...DEFAULT_WORKLOAD, ...options.workload }, options.seed);
  let stopped = false;
  let running: Promise<void> | undefined;
  try {
    if ((await poll(20_000, () => cluster.leader())) === undefined)
      throw new Error('no leader within 20 s of starting');
    running = workload.run();
    const origin = performance.now();
    await runSchedule(
      cluster,
      random,
      { ...DEFAULT_SCHEDULE, ...options.schedule, faults: options.faults },
      () => performance.now() - origin > options.durationMs,
      timeline,
    );
    const failed = timeline.filter((fault) => fault.failed !== undefined);
    // A run that injected nothing proves nothing about faults: it fails rather than passes.
    const none = timeline.length === 0 && options.faults.length > 0;
    check(
      'faults healed',
      failed.length === 0 && !none,
      none
        ? `no fault was injected: the run (${options.durationMs} ms) ended before the first`
        : failed.length === 0
          ? timeline.length === 0
            ? 'no fault was asked for'
            : `each of the ${timeline.length} faults was injected and healed`
          : failed.map((fault) => `${fault.name}: ${fault.failed}`).join('; '),
    );
    const healed = performance.now();
    const recoveryMs = options.recoveryMs ?? 15_000;
    const served = await poll(recoveryMs, async () =>
      (await workload.finalRead(workload.keyName(0), 'probe')) ? true : undefined,
    );
    const recovered = performance.now() - healed;
    check(
      'serves after healing',
      served === true,
      `${served ? 'served' : 'did not serve'} a read ${recovered.toFixed(0)} ms after healing (bound ${recoveryMs} ms)`,
    );
    // Some load on the healed cluster, then a final read of every key: a lost write shows up there.
    await sleep(1_000);
    workload.stop();
    await running;
    check(
      'client operations',
      workload.recorded > 0,
      workload.recorded > 0
        ? `the clients recorded ${workload.recorded} operations`
        : `the ${workload.options.clients} clients recorded no operation`,
    );
    for (let k = 0; k < workload.options.keys; k++) await workload.finalRead(workload.keyName(k), 'final');
    const converged = await cluster.converged(20_000);
    const agree =
      converged?.data.every((d) => JSON.stringify(d) === JSON.stringify(converged.data[0])) === true;
    check(
      'nodes converge',
      agree,
      converged === undefined
        ? 'the nodes did not apply the same last index within 20 s'
        : agree
          ? `every node applied index ${converged.views[0]!.appliedIndex} and holds the same data`
          : 'the nodes applied the same index but hold different data',
    );
    if (converged !== undefined) {
      // Membership faults heal by adding the node back: the checks below must see the whole cluster again.
      const partial = converged.views.filter((view) => !wholeCluster(view.membership, ids));
      check(
        'every node a voter',
        partial.length === 0,
        partial.length === 0
          ? `every node has ${ids.join(' ')} as the voters`
          : partial.map((view) => `${view.id} has ${JSON.stringify(view.membership)}`).join('; '),
      );
    }
    await cluster.stop();
    stopped = true;
    if (options.checkTraces !== false) {
      const traces = await analyzeTraces(cluster.traces);
      check(
        'traces replay',
        traces.mismatches.length === 0,
        traces.mismatches.length === 0
          ? `${traces.events} events replayed exactly`
          : `transitions differ: ${traces.mismatches.slice(0, 5).join(', ')}`,
      );
      check(
        'logs agree',
        traces.disagreements.length === 0,
        traces.disagreements.length === 0
          ? 'every index applied by several nodes holds the same entry'
          : traces.disagreements.slice(0, 3).join('; '),
      );
      const lost = workload.acknowledged.filter((session) => !traces.appliedSessions.has(session));
      check(
        'acknowledged writes applied',
        lost.length === 0,
        lost.length === 0
          ? `all ${workload.acknowledged.length} acknowledged writes were applied`
          : `${lost.length} acknowledged writes never applied, e.g. ${lost.slice(0, 5).join(', ')}`,
      );
    }
  } catch (error) {
    check('run', false, (error as Error).message);
  } finally {
    workload.stop();
    // Each client ends once its current operation has (a write is retried for at most writeTimeoutMs).
    await running?.catch(() => {});
    if (!stopped) await cluster.stop().catch(() => {});
  }
  const history = workload.history();
  const linearizability = checkLinearizable(kvModel, history, { budgetMs: CHECK_BUDGET_MS });
  check(
    'linearizable',
    linearizability.verdict !== 'not-linearizable',
    `${linearizability.verdict} (${history.length} operations, ${linearizability.elapsedMs.toFixed(0)} ms)`,
  );
  const failed = checks.some((c) => !c.ok);
  const verdict = failed ? 'failed' : linearizability.verdict === 'unknown' ? 'unknown' : 'ok';
  const report = {
    seed: options.seed,
    nodes: options.nodes,
    operations: history.length,
    unknown: history.filter((o) => o.completed === undefined).length,
    faults: timeline,
    verdict,
    checks,
    linearizability,
    elapsedMs: performance.now() - began,
  } as const;
  // An unknown verdict keeps the history too: it can be checked again with a larger budget.
  const folder =
    verdict === 'ok'
      ? undefined
      : await saveFailure(options.outDir, report, history, cluster, CHECK_BUDGET_MS);
  return folder === undefined ? report : { ...report, folder };
}
