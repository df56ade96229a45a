/**
 * `pureraft cluster` (what `npm start` runs), as a user meets it: a real process that starts its nodes,
 * prints where they are, brings back a node killed with kill -9, and stops them all on Ctrl-C.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { NodeProcess } from '../../src/cli/launcher.js';
import { localClusterConfigs } from '../../src/kv/test-support.js';
import { alive, eventually, getJson, type NodeReport } from './harness.js';

const cli = new URL('../../src/cli/main.ts', import.meta.url).pathname;

/** Ports below Linux's ephemeral range (32768 and up), so that no port another test got from the OS collides. */
function freshPorts(dataDir: string) {
  const base = 10_000 + 20 * Math.floor(Math.random() * 1000);
  return { base, flags: ['--raft-port', `${base}`, '--http-port', `${base + 10}`, '--data-dir', dataDir] };
}

/** Gathers `child`'s output until its banner shows the three nodes; then their ids and pids. */
async function untilServing(child: ChildProcess, name: string) {
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Three processes compile their TypeScript as they start: slow on a busy 2-core machine.
  await eventually('the banner', 45_000, async () => {
    if (child.exitCode !== null) throw new Error(`${name} exited ${child.exitCode}`);
    return output.includes('3 nodes running') ? true : undefined;
  }).catch((error: Error) => {
    throw new Error(`${error.message}\n--- output so far ---\n${output}`);
  });
  const pids = [...output.matchAll(/^ {2}(n\d) .* pid (\d+)$/gm)].map(([, id, pid]) => ({
    id: id!,
    pid: Number(pid),
  }));
  expect(pids.map(({ id }) => id)).toEqual(['n1', 'n2', 'n3']);
  return { pids, exited, output: () => output };
}

/** `pureraft cluster` on fresh ports with `flags`, once its banner shows the three nodes. */
async function startCluster(dataDir: string, flags: readonly string[]) {
  const ports = freshPorts(dataDir);
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'cluster', ...ports.flags, ...flags], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const serving = await untilServing(child, 'pureraft cluster').catch((error: Error) => {
    child.kill('SIGKILL');
    throw error;
  });
  return { child, base: ports.base, ...serving };
}

it('starts its nodes, restarts one killed with kill -9 from its own data, and stops them all on Ctrl-C', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'pureraft-cluster-'));
  const traceDir = join(dataDir, 'traces');
  const flags = ['--restart-after', '300', '--secret', 'test-secret', '--trace-dir', traceDir];
  const { child, base, pids, exited, output } = await startCluster(dataDir, [
    ...flags,
    '--heap-growth',
    '30',
  ]);
  try {
    // Node flags given to the cluster reach every node.
    for (const { pid } of pids) {
      const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      expect(args[args.indexOf('--heap-growth') + 1]).toBe('30');
    }
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
      output().includes(`[${victim.id}] restarted as pid`) ? true : undefined,
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
    expect(output()).not.toMatch(/EEXIST/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  }
}, 120_000);

it('Ctrl-C again within a second is the same Ctrl-C; a second or more later it kills every node at once', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'pureraft-cluster-kill-'));
  const { child, pids, exited, output } = await startCluster(dataDir, []);
  const [held, ...others] = pids;
  try {
    // A node that cannot stop (stopped by SIGSTOP: its SIGTERM waits) holds the clean stop up.
    process.kill(held!.pid, 'SIGSTOP');
    child.kill('SIGINT');
    const firstAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 200));
    child.kill('SIGINT');
    await eventually('the other nodes to stop', 30_000, async () =>
      others.every(({ pid }) => !alive(pid)) ? true : undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, firstAt + 1_100 - Date.now())));
    const report = () => `\n--- output ---\n${output()}`;
    expect(child.exitCode, report()).toBe(null);
    expect(output(), report()).not.toContain('stopping now');
    expect(alive(held!.pid)).toBe(true);
    child.kill('SIGINT');
    expect(await exited, report()).toBe(130);
    expect(output(), report()).toContain('stopping now: killing every node');
    await eventually('the held node to be killed', 5_000, async () => (alive(held!.pid) ? undefined : true));
  } finally {
    for (const { pid } of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  }
}, 120_000);

/**
 * `npm start` on fresh ports and data, in a process group of its own (as a terminal's job), once its banner
 * shows the three nodes; `run` gets it and their pids. Whatever is left of the group is killed afterwards.
 */
async function withNpmStart(
  prefix: string,
  run: (npm: {
    readonly group: number;
    readonly base: number;
    readonly dataDir: string;
    readonly pids: readonly number[];
    readonly exited: Promise<unknown>;
    output(): string;
  }) => Promise<void>,
): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), prefix));
  const ports = freshPorts(dataDir);
  const root = new URL('../..', import.meta.url).pathname;
  const npm = spawn('npm', ['start', '--', ...ports.flags], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  try {
    const { pids, exited, output } = await untilServing(npm, 'npm start');
    await run({
      group: npm.pid!,
      base: ports.base,
      dataDir,
      pids: pids.map(({ pid }) => pid),
      exited,
      output,
    });
  } finally {
    try {
      process.kill(-npm.pid!, 'SIGKILL');
    } catch {}
    await rm(dataDir, { recursive: true, force: true });
  }
}

it('`npm start` stopped with SIGTERM to npm (a process manager, kill %1) stops every node', async () => {
  // npm ran the script through `sh -c`, which stayed between npm and the cluster and did not pass the signal on:
  // the cluster and its nodes ran on, orphaned.
  await withNpmStart('pureraft-npm-start-', async ({ group, pids, exited, output }) => {
    process.kill(group, 'SIGTERM');
    await exited;
    await eventually('every node to stop', 15_000, async () =>
      pids.every((pid) => !alive(pid)) ? true : undefined,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n--- output ---\n${output()}`);
    });
  });
}, 90_000);

it('`npm start` stopped with Ctrl-C (SIGINT to the whole group, as a terminal sends it) stops every node cleanly', async () => {
  // The launcher got the SIGINT from the terminal and again through npm (and was killed by the tsx command it
  // ran under); it died before its nodes had stopped, and the leader, handing over, crashed on writing its log
  // to the closed pipe.
  await withNpmStart('pureraft-npm-ctrl-c-', async ({ group, base, dataDir, pids, exited, output }) => {
    // A leader, so that Ctrl-C finds one to hand over.
    await eventually('a first write', 10_000, async () => {
      const write = await fetch(`http://127.0.0.1:${base + 10}/kv/k`, { method: 'PUT', body: 'v' });
      return write.status === 200 ? true : undefined;
    });
    process.kill(-group, 'SIGINT');
    await exited;
    await eventually('every node to stop', 15_000, async () =>
      pids.every((pid) => !alive(pid)) ? true : undefined,
    );
    // The launcher outlives its nodes and says how they ended.
    await eventually('the last line', 5_000, async () =>
      /every node stopped|stopped; not cleanly/.test(output()) ? true : undefined,
    );
    const report = `\n--- output ---\n${output()}`;
    expect(output(), report).toContain('every node stopped (exit code 0)');
    expect(output(), report).not.toMatch(/EPIPE/);
    for (const id of ['n1', 'n2', 'n3'])
      expect(await readdir(join(dataDir, id)), report).not.toContain('LOCK');
  });
}, 90_000);

it('a node whose output pipe closed (its supervisor died) still stops cleanly, not on an unhandled EPIPE', async () => {
  const root = await mkdtemp(join(tmpdir(), 'pureraft-closed-output-'));
  try {
    const [config] = await localClusterConfigs(['solo'], root);
    const node = new NodeProcess(config!);
    await node.serving(45_000);
    // What a supervisor that died leaves: nobody reads the node's stdout and stderr any more.
    node.child.stdout!.destroy();
    node.child.stderr!.destroy();
    const exit = await node.kill('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(await readdir(config!.dataDir)).not.toContain('LOCK');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}, 60_000);
