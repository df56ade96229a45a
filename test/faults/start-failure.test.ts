/**
 * A cluster that fails to start (one node exits at once) leaves nothing behind: `tortureRun` rejects within a
 * bound with the node's reason, and no node process, proxy or temporary directory is left; `pureraft torture`
 * exits 1 with that reason instead of hanging on the nodes it had started.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tortureRun } from '../../src/check/torture/run.js';
import { alive } from '../cluster/harness.js';

let dir: string;
let started: string;
let preload: string;

/**
 * A preload for the node processes: records each node's pid and data directory; node n2 exits (code 1) once
 * the three are recorded (so that every pid is known), before it serves.
 */
const preloadSource = (log: string) => `
import { appendFileSync, readFileSync } from 'node:fs';
const at = (flag) => process.argv[process.argv.indexOf(flag) + 1];
if (process.argv.includes('node') && process.argv.includes('--id')) {
  appendFileSync(${JSON.stringify(log)}, JSON.stringify({ id: at('--id'), pid: process.pid, dataDir: at('--data-dir') }) + '\\n');
  if (at('--id') === 'n2') {
    const deadline = Date.now() + 15000;
    const recorded = () => readFileSync(${JSON.stringify(log)}, 'utf8').split('\\n').length > 3;
    while (!recorded() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    console.error('start-failure test: n2 refuses to start');
    process.exit(1);
  }
}
`;

interface Started {
  readonly id: string;
  readonly pid: number;
  readonly dataDir: string;
}

async function nodesStarted(): Promise<Started[]> {
  const text = await readFile(started, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Started);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pureraft-start-failure-'));
  started = join(dir, 'started.jsonl');
  preload = join(dir, 'fail-start.mjs');
  await writeFile(preload, preloadSource(started));
});

afterEach(async () => {
  // Without the fix, the nodes that did start run on: stop them (only the ones this test started).
  for (const node of await nodesStarted()) if (alive(node.pid)) process.kill(node.pid, 'SIGKILL');
  for (const node of await nodesStarted())
    await rm(dirname(dirname(node.dataDir)), { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
});

/** Every node was started, n2 failed, and none runs now, nor is its run's directory left. */
async function expectNothingLeft(): Promise<void> {
  const nodes = await nodesStarted();
  expect(nodes.map((node) => node.id).sort()).toEqual(['n1', 'n2', 'n3']);
  expect(nodes.filter((node) => alive(node.pid)).map((node) => node.id)).toEqual([]);
  const roots = new Set(nodes.map((node) => dirname(dirname(node.dataDir))));
  expect(roots.size).toBe(1);
  for (const root of roots) expect(existsSync(root), root).toBe(false);
}

describe('a cluster that fails to start', () => {
  it('tortureRun rejects within a bound and leaves no node process and no temporary directory', async () => {
    const began = performance.now();
    await expect(
      tortureRun({
        nodes: 3,
        durationMs: 10_000,
        faults: ['pause-follower'],
        seed: 1,
        outDir: join(dir, 'out'),
        nodeArgs: ['--import', pathToFileURL(preload).href],
      }),
    ).rejects.toThrow(/the cluster did not start: node n2 exited \(code 1.*\n.*n2 refuses to start/);
    expect(performance.now() - began).toBeLessThan(20_000);
    await expectNothingLeft();
    expect(existsSync(join(dir, 'out'))).toBe(false);
  }, 30_000);

  it('pureraft torture exits 1 with the reason, and leaves nothing running', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'torture',
        '--run-seconds',
        '10',
        '--minutes',
        '0',
        '--nodes',
        '3',
        '--out',
        join(dir, 'out'),
      ],
      {
        env: { ...process.env, NODE_OPTIONS: `--import ${pathToFileURL(preload).href}` },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.stdout.resume();
    // Without the fix it never exits: the nodes it started keep its event loop alive.
    const killer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(killer);
    expect(code, stderr).toBe(1);
    expect(stderr).toMatch(
      /^pureraft torture: run 1 \(seed \d+\): the cluster did not start: node n2 exited \(code 1/,
    );
    await expectNothingLeft();
  }, 30_000);
});
