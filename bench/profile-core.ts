/**
 * Where the core's time goes: runs bench:core's workload for pureraft alone under the V8 profiler, writes the
 * CPU profile, and prints the functions that take the most time (self time, as a share of the run).
 *
 *   npm run profile:core                    (PROFILE_ROW=5x1, PROFILE_COMMANDS=20000, PROFILE_TOP=30)
 *
 * Open the .cpuprofile in Chrome's DevTools (Performance tab) or VS Code for the full call tree.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const row = process.env.PROFILE_ROW ?? '5x1';
const commands = process.env.PROFILE_COMMANDS ?? '20000';
const top = Number(process.env.PROFILE_TOP ?? 30);
const dir = mkdtempSync(join(tmpdir(), 'pureraft-profile-'));

execFileSync(
  process.execPath,
  ['--import', 'tsx', '--cpu-prof', `--cpu-prof-dir=${dir}`, join(import.meta.dirname, 'core.ts')],
  {
    stdio: 'inherit',
    env: {
      ...process.env,
      BENCH_ONLY: 'pureraft',
      BENCH_ROWS: row,
      BENCH_COMMANDS: commands,
      BENCH_ROUNDS: '1',
    },
  },
);

// tsx runs a loader thread that writes a profile of its own (larger than the benchmark's once the core is fast):
// the benchmark's is the one that ran the core.
const file = readdirSync(dir)
  .map((name) => join(dir, name))
  .find((path) => readFileSync(path, 'utf8').includes('src/core/raft.ts'));
if (file === undefined) throw new Error(`no profile in ${dir} ran the core`);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfTime = new Map<string, number>();
let total = 0;
profile.samples.forEach((sample, i) => {
  const { functionName, url, lineNumber } = byId.get(sample)!.callFrame;
  const where = url === '' ? '' : ` ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
  const name = `${functionName || '(anonymous)'}${where}`;
  const delta = profile.timeDeltas[i] ?? 0;
  selfTime.set(name, (selfTime.get(name) ?? 0) + delta);
  total += delta;
});
console.log(`\nprofile: ${file}\ntop ${top} functions by self time (row ${row}, ${commands} commands):`);
for (const [name, time] of [...selfTime].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${((time / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
}
