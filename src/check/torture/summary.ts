/**
 * The summary table of torture runs: one row per run and a total, whose verdict counts the failed runs and the
 * unknown ones (the linearizability check ran out of time: not a pass); "no failure" only when every run passed.
 * The `unknown` column is another thing: a run's operations of unknown outcome, which the checker handles.
 */
import type { RunReport } from './run.js';

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  return rows
    .map((row) => row.map((cell, c) => (c === row.length - 1 ? cell : cell.padStart(widths[c]!))).join('  '))
    .join('\n');
}

export function formatSummary(reports: readonly RunReport[]): string {
  const header = [
    'run',
    'seed',
    'nodes',
    'seconds',
    'operations',
    'ops/s',
    'faults',
    'unknown',
    'check ms',
    'verdict',
  ];
  const row = (r: RunReport, i: number) => [
    String(i + 1),
    String(r.seed),
    String(r.nodes),
    (r.elapsedMs / 1000).toFixed(0),
    String(r.operations),
    (r.operations / (r.elapsedMs / 1000)).toFixed(0),
    String(r.faults.length),
    String(r.unknown),
    r.linearizability.elapsedMs.toFixed(0),
    r.verdict +
      (r.verdict === 'failed'
        ? `: ${r.checks
            .filter((c) => !c.ok)
            .map((c) => c.name)
            .join(', ')}`
        : ''),
  ];
  const sum = (f: (r: RunReport) => number) => String(reports.reduce((total, r) => total + f(r), 0));
  const failed = reports.filter((r) => r.verdict === 'failed').length;
  const unknown = reports.filter((r) => r.verdict === 'unknown').length;
  const verdicts = [
    ...(failed > 0 ? [`${failed} failed`] : []),
    ...(unknown > 0 ? [`${unknown} unknown`] : []),
  ];
  const total = [
    'all',
    '',
    '',
    (reports.reduce((t, r) => t + r.elapsedMs, 0) / 1000).toFixed(0),
    sum((r) => r.operations),
    '',
    sum((r) => r.faults.length),
    sum((r) => r.unknown),
    '',
    verdicts.length === 0 ? 'no failure' : verdicts.join(', '),
  ];
  return table([header, ...reports.map(row), total]);
}
