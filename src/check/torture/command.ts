/** `pureraft torture`: fault-injection runs on real local clusters, back to back, with a summary table. */
import { resolve } from 'node:path';
import { type CommandSpec, defineCommand, type Flag, type FlagValues, UsageError } from '../../cli/flags.js';
import { describeFault, FAULT_NAMES, type FaultName } from './faults.js';
import { type RunReport, tortureRun } from './run.js';
import { formatSummary } from './summary.js';

const spec = {
  name: 'torture',
  summary: 'run fault-injection tests on local clusters and check the histories are linearizable',
  synopsis: '[flags]',
  details: `
Starts a real cluster of node processes on 127.0.0.1 whose Raft links go through fault-injecting proxies,
runs concurrent clients that record a history through the HTTP API, and injects faults on a schedule (kill -9
and restart, SIGSTOP/SIGCONT, partitions, a bridge node, one-way loss, a slow disk, a follower or the leader
removed from the configuration through the admin API), each healed after a few seconds (a removed node is added
back as a learner, then promoted). After each run it checks that the cluster serves again, every node is a
voter again, the nodes converge, their traces replay, every acknowledged write was applied, and the history is
linearizable. A run that injected no fault, or whose clients recorded no operation, fails too. Runs follow
each other for --minutes. A failed run keeps its history, faults, drawing, logs and traces in a folder under
--out, which it prints; so does a run whose linearizability check ran out of time (verdict "unknown": not a
pass), with the command that checks its history again with a larger budget.

Seeds: a run's seed fixes each client's sequence of operations (every client draws from its own generator,
derived from the seed and its number: which key, which operation) and the fault schedule's choices (which
fault in what order, how long each quiet spell and each fault lasts, which halves or bridge, which slow disks,
a follower's place among the nodes that do not lead). It does not fix what depends on timing: how the clients'
operations interleave and how many each gets through, the answers (and so the value a compare-and-set
expects), how many faults fit in the run, which node leads when a fault picks "the leader" (and so which nodes
are "the followers"). Running a seed again draws the same choices; it does not replay the run (a failed run's
traces replay exactly: pureraft replay).

Exit code: 0 every run passed; 1 a run failed, or a cluster did not start; 2 bad usage; 3 no run failed but
some run's verdict was unknown.

Faults: ${FAULT_NAMES.join(', ')}.`,
  positionals: 0,
  flags: {
    minutes: {
      type: 'integer',
      placeholder: 'n',
      description:
        'Keep starting runs for this long, 0 or more (0: one whole run); the last run is cut to the time left, at least 10 s. Default 5.',
    },
    'run-seconds': {
      type: 'integer',
      placeholder: 's',
      description:
        'How long each run injects faults, at least 1 (a run over before its first fault fails). Default 120.',
    },
    nodes: { type: 'integer', description: 'Nodes per cluster: 3 or 5; default: alternate.' },
    clients: { type: 'integer', description: 'Concurrent clients, at least 1. Default 10.' },
    keys: { type: 'integer', description: 'Keys they share, at least 1. Default 6.' },
    fault: { type: 'list', placeholder: 'name', description: 'Only these faults. Default: all.' },
    seed: {
      type: 'integer',
      description: "The first run's seed, 0 to 4294967295 (the next runs add 1). Default: from the clock.",
    },
    out: {
      type: 'string',
      placeholder: 'dir',
      description: 'Where failed runs keep their evidence. Default ./torture.',
    },
    'broken-reads': {
      type: 'boolean',
      description:
        "Deliberately broken: read each node's local state (no ReadIndex), to see the checks bite.",
    },
    'broken-fsync': {
      type: 'boolean',
      description:
        'Deliberately broken: storage acknowledges before it writes and syncs, to see the checks bite.',
    },
  },
} as const satisfies CommandSpec<Readonly<Record<string, Flag>>>;

export const tortureCommand = defineCommand(spec, run);

/** The exit code when no run failed but some run's linearizability check ran out of time. */
export const EXIT_UNKNOWN = 3;

/** The integer flags' lower bounds: a value below injects or checks nothing, yet would report a pass. */
const AT_LEAST = { minutes: 0, 'run-seconds': 1, clients: 1, keys: 1 } as const;
const MAX_SEED = 2 ** 32 - 1;

async function run(
  flags: FlagValues<typeof spec.flags>,
  _positionals: readonly string[],
  usage: string,
): Promise<number> {
  const faults = (flags.fault ?? [...FAULT_NAMES]) as FaultName[];
  const unknown = faults.filter((name) => !FAULT_NAMES.includes(name));
  if (unknown.length > 0) throw new UsageError(`unknown faults: ${unknown.join(', ')}`, usage);
  if (flags.nodes !== undefined && flags.nodes !== 3 && flags.nodes !== 5)
    throw new UsageError('--nodes must be 3 or 5', usage);
  for (const [name, least] of Object.entries(AT_LEAST)) {
    const value = flags[name as keyof typeof AT_LEAST];
    if (value !== undefined && value < least)
      throw new UsageError(`--${name} must be at least ${least}, got ${value}`, usage);
  }
  // The generators keep 32 bits: seeds outside would alias others (-1 runs as 4294967295), and print as neither.
  if (flags.seed !== undefined && (flags.seed < 0 || flags.seed > MAX_SEED))
    throw new UsageError(`--seed must be between 0 and ${MAX_SEED}, got ${flags.seed}`, usage);
  const deadline = Date.now() + (flags.minutes ?? 5) * 60_000;
  const firstSeed = flags.seed ?? Date.now() % 2 ** 31;
  const out = resolve(flags.out ?? 'torture');
  const reports: RunReport[] = [];
  const write = (line: string) => process.stdout.write(`${line}\n`);
  write(
    `pureraft torture: runs of ${flags['run-seconds'] ?? 120} s for ${flags.minutes ?? 5} min, first seed ${firstSeed}`,
  );
  for (let i = 0; i === 0 || Date.now() < deadline; i++) {
    const seed = (firstSeed + i) % (MAX_SEED + 1);
    const nodes = flags.nodes ?? (i % 2 === 0 ? 3 : 5);
    const runMs = (flags['run-seconds'] ?? 120) * 1000;
    const durationMs = flags.minutes === 0 ? runMs : Math.min(runMs, Math.max(deadline - Date.now(), 10_000));
    write(`run ${i + 1}: seed ${seed}, ${nodes} nodes, ${Math.round(durationMs / 1000)} s ...`);
    const report = await tortureRun({
      nodes,
      durationMs,
      faults,
      seed,
      outDir: out,
      workload: {
        ...(flags.clients !== undefined && { clients: flags.clients }),
        ...(flags.keys !== undefined && { keys: flags.keys }),
        ...(flags['broken-reads'] === true && { reads: 'local' as const }),
      },
      // On a fast local disk the gap between the acknowledgement and the sync is too short to crash into.
      ...(flags['broken-fsync'] === true && { diskFaults: { ackBeforeFsync: true, fsyncDelayMs: 1_000 } }),
      log: write,
    }).catch((error: unknown) => {
      // The cluster did not start (nothing of it is left running): the runs so far, then the reason.
      if (reports.length > 0) write(`\n${formatSummary(reports)}`);
      throw new Error(`run ${i + 1} (seed ${seed}): ${(error as Error).message}`, { cause: error });
    });
    reports.push(report);
    const counts = new Map<string, number>();
    for (const fault of report.faults) counts.set(fault.name, (counts.get(fault.name) ?? 0) + 1);
    write(`  faults: ${[...counts].map(([name, n]) => `${name} ×${n}`).join(', ') || 'none'}`);
    // Membership changes say what they took (retries, refusals), and any fault that could not be healed why.
    for (const fault of report.faults)
      if (fault.healed !== undefined || fault.failed !== undefined) write(`    ${describeFault(fault)}`);
    write(
      `run ${i + 1}: ${report.verdict}${report.folder === undefined ? '' : `: evidence in ${report.folder} (README.txt)`}`,
    );
  }
  write('');
  write(formatSummary(reports));
  if (reports.some((r) => r.verdict === 'failed')) return 1;
  return reports.some((r) => r.verdict === 'unknown') ? EXIT_UNKNOWN : 0;
}
