/**
 * A cluster of real `pureraft node` processes on 127.0.0.1 for tests: each node in its own process and data
 * directory, killed and restarted at will. Every wait is bounded in time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeProcess, type NodeProcessOptions } from '../../src/cli/launcher.js';
import { freePorts } from '../../src/kv/free-ports.js';
import type { KvNodeConfig } from '../../src/kv/index.js';
import { localClusterConfigs } from '../../src/kv/test-support.js';

export interface NodeReport {
  readonly id: string;
  readonly role: string;
  readonly term: number;
  readonly leader: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
}

export interface Dump {
  readonly appliedIndex: number;
  readonly data: Readonly<Record<string, string>>;
}

export async function getJson<T>(url: string, timeoutMs = 1_000): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** Whether a process with this pid exists (a zombie counts, until its parent reaps it). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` every 50 ms until it returns a value, for at most `ms`. */
export async function eventually<T>(
  what: string,
  ms: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + ms;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(50);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

export class ProcessCluster {
  readonly processes = new Map<string, NodeProcess>();

  /** The nodes the cluster's checks look at (`leader`, `converged`): `forget` takes a removed one out. */
  readonly #watched: string[];

  private constructor(
    readonly root: string,
    readonly configs: KvNodeConfig[],
  ) {
    this.#watched = configs.map((config) => config.id);
  }

  /** `extra` adds to every node's config (a snapshot policy, say). */
  static async start(
    ids: readonly string[] = ['a', 'b', 'c'],
    extra: Partial<KvNodeConfig> = {},
  ): Promise<ProcessCluster> {
    const root = await mkdtemp(join(tmpdir(), 'pureraft-cluster-'));
    const configs = (await localClusterConfigs(ids, root)).map((config) => ({ ...config, ...extra }));
    const cluster = new ProcessCluster(root, configs);
    await Promise.all(ids.map((id) => cluster.launch(id)));
    return cluster;
  }

  get ids(): string[] {
    return [...this.#watched];
  }

  /**
   * A config for a new node `id` (fresh ports, its own data directory, the others' settings) that knows no
   * peers: it is meant to be started with `--join` (see `spawn`'s options). The checks watch it from now on.
   */
  async addConfig(id: string): Promise<KvNodeConfig> {
    const [raft, http] = (await freePorts(2)) as [number, number];
    const {
      id: _,
      raft: __,
      http: ___,
      peers: ____,
      dataDir,
      tracePath: _____,
      ...shared
    } = this.configs[0]!;
    const config: KvNodeConfig = {
      ...shared,
      id,
      raft: { host: '127.0.0.1', port: raft },
      http: { host: '127.0.0.1', port: http },
      peers: {},
      dataDir: join(this.root, id),
    };
    this.configs.push(config);
    this.#watched.push(id);
    return config;
  }

  /** Stops watching node `id` (removed from the cluster): `leader` and `converged` leave it out. */
  forget(id: string): void {
    const at = this.#watched.indexOf(id);
    if (at >= 0) this.#watched.splice(at, 1);
  }

  config(id: string): KvNodeConfig {
    const config = this.configs.find((c) => c.id === id);
    if (config === undefined) throw new Error(`no node ${id}`);
    return config;
  }

  url(id: string): string {
    return `http://127.0.0.1:${this.config(id).http.port}`;
  }

  /** Starts node `id` (again) and waits until it serves HTTP. */
  async launch(id: string, options: NodeProcessOptions = {}): Promise<NodeProcess> {
    const node = this.spawn(id, options);
    await node.serving();
    return node;
  }

  /** Starts node `id` (again) without waiting for anything. */
  spawn(id: string, options: NodeProcessOptions = {}): NodeProcess {
    const node = new NodeProcess(this.config(id), () => {}, options);
    this.processes.set(id, node);
    return node;
  }

  /** kill -9: the node loses everything not yet on disk. */
  async crash(id: string): Promise<void> {
    await this.processes.get(id)?.kill('SIGKILL');
  }

  /** Ctrl-C: the node stops cleanly (a leader hands leadership over first); waits for it to exit. */
  async interrupt(id: string): Promise<void> {
    const exit = await this.processes.get(id)?.kill('SIGINT');
    if (exit !== undefined && exit.code !== 0)
      throw new Error(`node ${id} exited with ${exit.code} on SIGINT`);
  }

  /** SIGSTOP: the process freezes, its sockets still open, until `resume`. */
  pause(id: string): void {
    this.processes.get(id)?.child.kill('SIGSTOP');
  }

  resume(id: string): void {
    this.processes.get(id)?.child.kill('SIGCONT');
  }

  async status(id: string): Promise<NodeReport> {
    return getJson<NodeReport>(`${this.url(id)}/status`);
  }

  /** A sample of node `id`'s /metrics, e.g. `pureraft_snapshots_total{event="installed"}`. */
  async metric(id: string, sample: string): Promise<number> {
    const response = await fetch(`${this.url(id)}/metrics`, { signal: AbortSignal.timeout(2_000) });
    const line = (await response.text()).split('\n').find((l) => l.startsWith(`${sample} `));
    if (line === undefined) throw new Error(`node ${id} has no metric ${sample}`);
    return Number(line.slice(sample.length + 1));
  }

  async dump(id: string): Promise<Dump> {
    return getJson<Dump>(`${this.url(id)}/debug/kv`, 5_000);
  }

  /** The leader every running node agrees on, once there is one. */
  async leader(ms = 10_000): Promise<string> {
    return eventually('a leader that every node knows', ms, async () => {
      const reports = await Promise.all(this.ids.map((id) => this.status(id)));
      const leader = reports.find((report) => report.role === 'leader');
      return leader !== undefined && reports.every((r) => r.leader === leader.id) ? leader.id : undefined;
    });
  }

  /** Waits until every node has applied the same, non-empty prefix of the log, and returns each one's data. */
  async converged(ms = 10_000): Promise<Dump[]> {
    return eventually('every node to apply the same log', ms, async () => {
      const reports = await Promise.all(this.ids.map((id) => this.status(id)));
      const [first] = reports;
      const same = reports.every(
        (r) =>
          r.appliedIndex === first!.appliedIndex &&
          r.commitIndex === r.appliedIndex &&
          r.lastIndex === r.appliedIndex,
      );
      if (!same) return undefined;
      const dumps = await Promise.all(this.ids.map((id) => this.dump(id)));
      return dumps.every((d) => d.appliedIndex === first!.appliedIndex) ? dumps : undefined;
    });
  }

  /** Stops every node and deletes the data. */
  async stop(): Promise<void> {
    await Promise.all([...this.processes.values()].map((node) => node.kill('SIGKILL')));
    await rm(this.root, { recursive: true, force: true });
  }
}
