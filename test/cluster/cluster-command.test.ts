/**
 * `pureraft cluster` (what `npm start` runs), as a user meets it: a real process that starts its nodes,
 * prints where they are, brings back a node killed with kill -9, and stops them all on Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { eventually, getJson, type NodeReport } from './harness.js';

const cli = new URL('../../src/cli/main.ts', import.meta.url).pathname;

it('starts its nodes, restarts one killed with kill -9 from its own data, and stops them all on Ctrl-C', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'pureraft-cluster-'));
  const traceDir = join(dataDir, 'traces');
  const base = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      cli,
      'cluster',
      '--raft-port',
      `${base}`,
      '--http-port',
      `${base + 10}`,
      '--data-dir',
      dataDir,
      '--restart-after',
      '300',
      '--secret',
      'test-secret',
      '--trace-dir',
      traceDir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await eventually('the banner', 20_000, async () =>
      output.includes('3 nodes running') ? true : undefined,
    );
    const pids = [...output.matchAll(/^ {2}(n\d) .* pid (\d+)$/gm)].map(([, id, pid]) => ({
      id: id!,
      pid: Number(pid),
    }));
    expect(pids.map(({ id }) => id)).toEqual(['n1', 'n2', 'n3']);
    const url = (port: number, path: string) => `http://127.0.0.1:${port}${path}`;
    // The banner comes once every node serves; the first election may still be under way.
    await eventually('a first write', 10_000, async () => {
      const write = await fetch(url(base + 10, '/kv/tour'), {
        method: 'PUT',
        body: 'before',
        redirect: 'follow',
      });
      return write.status === 200 ? true : undefined;
    });

    const victim = pids[1]!;
    process.kill(victim.pid, 'SIGKILL');
    await eventually('the restart', 10_000, async () =>
      output.includes(`[${victim.id}] restarted as pid`) ? true : undefined,
    );
    const status = await eventually('the restarted node to catch up', 10_000, async () => {
      const report = await getJson<NodeReport>(url(base + 11, '/status'));
      return report.appliedIndex >= 2 ? report : undefined;
    });
    expect(status.id).toBe('n2');
    const read = await fetch(url(base + 11, '/kv/tour'), { redirect: 'follow' });
    expect(await read.json()).toMatchObject({ value: 'before' });

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    for (const { pid } of pids) expect(() => process.kill(pid, 0)).toThrow();
    // Each incarnation recorded its own trace: the restarted node did not collide with its first one's file.
    const traces = (await readdir(traceDir)).filter((name) => name.startsWith(`${victim.id}-`));
    expect(traces).toHaveLength(2);
    expect(output).not.toMatch(/EEXIST/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  }
}, 60_000);
