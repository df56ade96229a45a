/**
 * etcd beside pureraft in bench/kv.ts: a 3-member etcd cluster of real processes on loopback (Debian's
 * `etcd-server`, etcd 3.4), each with its own data directory and etcd's defaults otherwise (fsync on every
 * commit), driven through its v3 JSON gateway. Only for the benchmark: nothing in `npm test` needs it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePorts } from '../src/kv/free-ports.js';

export const ETCD_INSTALL_HINT =
  'etcd is not installed: to compare, install etcd 3.4 with `sudo apt-get install -y etcd-server` ' +
  '(Debian; the binary is /usr/bin/etcd, or set ETCD=/path/to/etcd). Running pureraft alone.';

/** The etcd binary to run, if it is there and is etcd 3.x: `ETCD` or `etcd` on the PATH. */
export function findEtcd(): { binary: string; version: string } | undefined {
  const binary = process.env.ETCD ?? 'etcd';
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 5_000 });
  if (probe.error !== undefined || probe.status !== 0) return undefined;
  const version = /etcd Version: (\S+)/.exec(probe.stdout)?.[1];
  return version === undefined ? undefined : { binary, version };
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLOCK_TICKS;
}

const CLOCK_TICKS = (() => {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(out.stdout?.trim());
  return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
})();

interface Member {
  readonly name: string;
  readonly clientUrl: string;
  readonly process: ChildProcess;
  readonly exited: Promise<void>;
  stderr: string;
}

export class EtcdCluster {
  private constructor(readonly members: readonly Member[]) {}

  /** Starts 3 members in `<root>/<name>` on free loopback ports and waits until they have a leader. */
  static async start(binary: string, root: string): Promise<EtcdCluster> {
    const names = ['e1', 'e2', 'e3'];
    const ports = await freePorts(2 * names.length);
    const peerUrl = (i: number) => `http://127.0.0.1:${ports[2 * i]}`;
    const clientUrl = (i: number) => `http://127.0.0.1:${ports[2 * i + 1]}`;
    const initialCluster = names.map((name, i) => `${name}=${peerUrl(i)}`).join(',');
    const members = names.map((name, i): Member => {
      const args = [
        `--name=${name}`,
        `--data-dir=${join(root, name)}`,
        `--listen-peer-urls=${peerUrl(i)}`,
        `--initial-advertise-peer-urls=${peerUrl(i)}`,
        `--listen-client-urls=${clientUrl(i)}`,
        `--advertise-client-urls=${clientUrl(i)}`,
        `--initial-cluster=${initialCluster}`,
        '--initial-cluster-state=new',
        '--initial-cluster-token=pureraft-bench',
        '--logger=zap',
        '--log-outputs=stderr',
        '--log-level=error',
      ];
      const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      const member: Member = {
        name,
        clientUrl: clientUrl(i),
        process: child,
        exited: new Promise((resolve) => child.once('exit', () => resolve())),
        stderr: '',
      };
      child.stderr!.on('data', (chunk: Buffer) => {
        member.stderr = (member.stderr + chunk.toString()).slice(-4_000);
      });
      return member;
    });
    const cluster = new EtcdCluster(members);
    try {
      await cluster.leader();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** The members' process ids, for their CPU time. */
  get pids(): number[] {
    return this.members.map((member) => member.process.pid!);
  }

  /** The leader's client URL, once a member reports itself leader (within 15 s). */
  async leader(): Promise<string> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      for (const member of this.members) {
        if (member.process.exitCode !== null)
          throw new Error(`etcd ${member.name} exited:\n${member.stderr}`);
        const status = await postJson<{ header?: { member_id?: string }; leader?: string }>(
          `${member.clientUrl}/v3/maintenance/status`,
          {},
        ).catch(() => undefined);
        if (status?.leader !== undefined && status.leader === status.header?.member_id)
          return member.clientUrl;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('etcd: no leader within 15 s');
  }

  async stop(): Promise<void> {
    for (const member of this.members) if (member.process.exitCode === null) member.process.kill('SIGTERM');
    const killLater = setTimeout(() => {
      for (const member of this.members) if (member.process.exitCode === null) member.process.kill('SIGKILL');
    }, 5_000);
    await Promise.all(this.members.map((member) => member.exited));
    clearTimeout(killLater);
  }
}

async function postJson<T>(url: string, body: unknown): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(2_000),
  });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return (await response.json()) as T;
}

/** The v3 gateway's body for a put of `key` = `value` (both base64, as the gateway's JSON mapping wants). */
export function etcdPutBody(key: string, value: string): string {
  return JSON.stringify({
    key: Buffer.from(key).toString('base64'),
    value: Buffer.from(value).toString('base64'),
  });
}
