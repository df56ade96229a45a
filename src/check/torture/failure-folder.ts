/**
 * A failed run's evidence, kept together in one folder: the history (JSON), the fault timeline, the checks and
 * the checker's explanation, the drawing, each node's log and each incarnation's trace, and how to replay them.
 * A run whose linearizability check ran out of time ('unknown') keeps the same, and says how to check its
 * history again with a larger budget.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeResult } from '../describe.js';
import type { KvOperation } from '../kv-model.js';
import { kvModel } from '../kv-model.js';
import type { Model } from '../model.js';
import { renderTimeline } from '../timeline.js';
import type { TortureCluster } from './cluster.js';
import { describeFault } from './faults.js';
import type { RunReport } from './run.js';

/** The checker's module, for the command that checks a kept history again. */
const checkModule = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? '../index.ts' : '../index.js', import.meta.url),
);

/** How much history around a failure the drawing keeps when the whole one would be too large to look at. */
const CONTEXT_MS = 3_000;
const DRAW_ALL_BELOW = 5_000;

export async function saveFailure(
  outDir: string,
  report: Omit<RunReport, 'folder'>,
  history: readonly KvOperation[],
  cluster: TortureCluster,
  /** The budget per partition the check had, ms (for an unknown verdict's explanation). */
  budgetMs?: number,
): Promise<string> {
  const folder = join(outDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-seed-${report.seed}`);
  await mkdir(join(folder, 'traces'), { recursive: true });
  await mkdir(join(folder, 'logs'), { recursive: true });
  const origin = Math.min(...history.map((o) => o.invoked), ...report.faults.map((f) => f.start));
  const failure = report.linearizability.failure;
  await writeFile(
    join(folder, 'history.json'),
    `${JSON.stringify({ origin, operations: history }, null, 1)}\n`,
  );
  await writeFile(join(folder, 'faults.json'), `${JSON.stringify(report.faults, null, 1)}\n`);
  let range: [number, number] | undefined;
  if (failure !== undefined && history.length > DRAW_ALL_BELOW) {
    range = [
      Math.min(...failure.window.map((o) => o.invoked)) - CONTEXT_MS,
      Math.max(...failure.window.map((o) => o.completed ?? o.invoked)) + CONTEXT_MS,
    ];
  }
  await writeFile(
    join(folder, 'timeline.html'),
    renderTimeline(kvModel, history, {
      title: `pureraft torture, seed ${report.seed}: ${report.verdict}`,
      bands: report.faults.map((f) => ({
        label: f.detail,
        start: f.start,
        ...(f.end !== undefined && { end: f.end }),
      })),
      ...(failure !== undefined && { failure }),
      ...(range !== undefined && { range }),
    }),
  );
  const traces: string[] = [];
  for (const trace of cluster.traces) {
    const copy = join(folder, 'traces', basename(trace));
    if (
      await copyFile(trace, copy).then(
        () => true,
        () => false,
      )
    )
      traces.push(copy);
  }
  for (const [id, lines] of cluster.logs())
    await writeFile(join(folder, 'logs', `${id}.log`), `${lines.join('\n')}\n`);
  const recheck = [
    `npx tsx -e "import { readFileSync } from 'node:fs'; import { checkLinearizable, kvModel } from '${checkModule}';`,
    `const { operations } = JSON.parse(readFileSync('${join(folder, 'history.json')}', 'utf8'));`,
    `console.log(checkLinearizable(kvModel, operations, { budgetMs: 600000 }).verdict)"`,
  ].join(' ');
  const unknown =
    report.verdict !== 'unknown'
      ? []
      : [
          `Not a pass: the linearizability check ran out of its budget${budgetMs === undefined ? '' : ` (${budgetMs} ms per key)`}`,
          'on the keys marked unknown below, so this history was neither shown linearizable nor refuted. Every',
          'other check passed. Check the history again with a larger budget (here 10 minutes per key):',
          `  ${recheck}`,
          '',
        ];
  const lines = [
    `pureraft torture: ${report.verdict}, seed ${report.seed}, ${report.nodes} nodes, ${report.operations} operations (${report.unknown} unknown)`,
    '',
    ...unknown,
    'Checks:',
    ...report.checks.map((c) => `  ${c.ok ? 'ok    ' : 'FAILED'} ${c.name}: ${c.detail}`),
    '',
    'Faults (seconds from the first operation):',
    ...report.faults.map(
      (f) =>
        `  ${((f.start - origin) / 1000).toFixed(2)}–${f.end === undefined ? '…' : ((f.end - origin) / 1000).toFixed(2)}  ${describeFault(f)}`,
    ),
    '',
    'Linearizability (times in ms from the first operation):',
    describeResult(
      kvModel as Model<unknown, KvOperation['input'], KvOperation['output']>,
      report.linearizability,
      origin,
    ),
    '',
    'Open timeline.html to see the history. Replay each node incarnation through the reducer:',
    ...traces.map((trace) => `  npx pureraft replay ${trace}`),
  ];
  await writeFile(join(folder, 'README.txt'), `${lines.join('\n')}\n`);
  return folder;
}
