/**
 * A cluster of real `pureraft node` processes on 127.0.0.1 for the fault suite: every Raft link goes through a
 * fault-injecting proxy (proxy.ts), every node loads the disk-fault preload (inject.ts) and records a trace
 * per incarnation (for `pureraft replay`). Nodes are crashed, paused and restarted at will; every wait is
 * bounded in time.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeProcess } from '../../cli/launcher.js';
import { freePorts } from '../../kv/free-ports.js';
import { clusterConfigs, type KvNode, type KvNodeConfig } from '../../kv/index.js';
import { type DiskFaults, FAULTS_ENV } from './inject.js';
import { ProxyMesh } from './proxy.js';

const injectModule = new URL(
  import.meta.url.endsWith('.ts') ? './inject.ts' : './inject.js',
  import.meta.url,
);

/** What a node's GET /status answers. */

const TORTURE_SNAPSHOT_POLICY = { entries: 300, bytes: 256 * 1024 };
export type NodeView = ReturnType<KvNode['statusReport']>;

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` every 50 ms until it returns a value, for at most `ms`; undefined if it never does. */
export async function poll<T>(ms: number, probe: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await sleep(50);
  }
  return undefined;
}

export interface TortureClusterOptions {
  readonly ids: readonly string[];
  /** Data, traces, node logs and fault switches go under here. */
  readonly root: string;
  /** Disk faults every node starts with (the broken service's switch, say). */
  readonly diskFaults?: DiskFaults;
  /** More of Node's own arguments for every node process (a test's preload, say). */
  readonly nodeArgs?: readonly string[];
}

/** Where node `from` dials each other node's port named `port`: the proxy of that direction. */
function routesThrough(
  mesh: ProxyMesh,
  from: string,
  ids: readonly string[],
  port: 'raft' | 'http',
): Record<string, { host: string; port: number }> {
  return Object.fromEntries(
    ids.filter((to) => to !== from).map((to) => [to, { host: '127.0.0.1', port: mesh.port(from, to, port) }]),
  );
}

export class TortureCluster {
  readonly processes = new Map<string, NodeProcess>();
  /** Every trace file written, in order: one per node incarnation. */
  readonly traces: string[] = [];
  readonly #incarnations = new Map<string, number>();
  readonly #logs = new Map<string, string[]>();
  readonly #diskFaults = new Map<string, DiskFaults>();

  private constructor(
    readonly root: string,
    readonly configs: readonly KvNodeConfig[],
    readonly mesh: ProxyMesh,
    readonly nodeArgs: readonly string[],
  ) {}

  /**
   * Starts every node and waits until each serves HTTP. If one fails to (it exits, or does not serve within
   * 30 s), the nodes already started are stopped and the proxies closed before it rejects: nothing is left
   * running.
   */
  static async start(options: TortureClusterOptions): Promise<TortureCluster> {
    const { ids, root } = options;
    await Promise.all(['data', 'traces', 'faults'].map((dir) => mkdir(join(root, dir), { recursive: true })));
    const ports = await freePorts(2 * ids.length);
    const members = ids.map((id, i) => ({
      id,
      raft: { host: '127.0.0.1', port: ports[2 * i]! },
      http: { host: '127.0.0.1', port: ports[2 * i + 1]! },
    }));
    const mesh = await ProxyMesh.open(
      new Map(members.map((m) => [m.id, { raft: m.raft.port, http: m.http.port }])),
    );
    // Each node knows its peers at their real addresses (their --peer, what the address book records when a
    // membership fault adds one back), and reaches each, its Raft port and its HTTP API, through the proxies of
    // that direction (its --route): a partition cuts a follower's read-index requests as well as its messages.
    const configs = clusterConfigs(members, join(root, 'data'), {
      secret: 'torture secret',
      electionTimeout: [300, 600],
      heartbeatInterval: 50,
    }).map((config) => ({
      ...config,
      // Snapshots every few hundred entries: nodes compact, and one that was down or cut off catches up by
      // snapshot, under the same faults as everything else.
      snapshotPolicy: TORTURE_SNAPSHOT_POLICY,
      routes: routesThrough(mesh, config.id, ids, 'raft'),
      httpRoutes: routesThrough(mesh, config.id, ids, 'http'),
    }));
    const cluster = new TortureCluster(root, configs, mesh, options.nodeArgs ?? []);
    try {
      for (const id of ids) await cluster.setDiskFaults(id, options.diskFaults ?? {});
      // Every launch spawns its process before its first await: once one rejects, all are in `processes`.
      await Promise.all(ids.map((id) => cluster.launch(id)));
    } catch (error) {
      await cluster.stop().catch(() => {});
      throw new Error(`the cluster did not start: ${(error as Error).message.trimEnd()}`, { cause: error });
    }
    return cluster;
  }

  get ids(): string[] {
    return this.configs.map((config) => config.id);
  }

  /** Where node `id` really listens (its Raft port behind the proxies, its HTTP port): what a user would name. */
  addresses(id: string): Pick<KvNodeConfig, 'raft' | 'http'> {
    const { raft, http } = this.#config(id);
    return { raft, http };
  }

  url(id: string): string {
    return `http://127.0.0.1:${this.#config(id).http.port}`;
  }

  get urls(): string[] {
    return this.ids.map((id) => this.url(id));
  }

  /** Starts node `id` (again), with a new trace file, and waits until it serves HTTP. */
  async launch(id: string): Promise<void> {
    const incarnation = (this.#incarnations.get(id) ?? 0) + 1;
    this.#incarnations.set(id, incarnation);
    const tracePath = join(this.root, 'traces', `${id}-${incarnation}.trace`);
    this.traces.push(tracePath);
    const log = this.#logs.get(id) ?? [];
    this.#logs.set(id, log);
    log.push(`--- incarnation ${incarnation}, ${new Date().toISOString()}`);
    const node = new NodeProcess({ ...this.#config(id), tracePath }, (line) => log.push(line), {
      nodeArgs: ['--import', injectModule.href, ...this.nodeArgs],
      env: { [FAULTS_ENV]: join(this.root, 'faults') },
    });
    this.processes.set(id, node);
    await node.serving(30_000);
  }

  running(id: string): boolean {
    return this.processes.get(id)?.running === true;
  }

  /** kill -9. */
  async crash(id: string): Promise<void> {
    const node = this.processes.get(id);
    if (node === undefined) return;
    node.child.kill('SIGCONT'); // a paused process dies only once it runs
    await node.kill('SIGKILL');
  }

  pause(id: string): void {
    this.processes.get(id)?.child.kill('SIGSTOP');
  }

  resume(id: string): void {
    this.processes.get(id)?.child.kill('SIGCONT');
  }

  async setDiskFaults(id: string, faults: DiskFaults): Promise<void> {
    this.#diskFaults.set(id, faults);
    const path = join(this.root, 'faults', `${id}.json`);
    await writeFile(`${path}.tmp`, JSON.stringify(faults));
    // A rename, so the node never reads half a file.
    await rename(`${path}.tmp`, path);
  }

  diskFaults(id: string): DiskFaults {
    return this.#diskFaults.get(id) ?? {};
  }

  async status(id: string, timeoutMs = 1_000): Promise<NodeView> {
    const response = await fetch(`${this.url(id)}/status`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`${id}: /status answered ${response.status}`);
    return (await response.json()) as NodeView;
  }

  /** The statuses of the nodes that answer now. */
  async statuses(): Promise<NodeView[]> {
    const answers = await Promise.allSettled(
      this.ids.filter((id) => this.running(id)).map((id) => this.status(id)),
    );
    return answers.flatMap((answer) => (answer.status === 'fulfilled' ? [answer.value] : []));
  }

  /** The leader with the highest term among the nodes that answer, if any claims to lead. */
  async leader(): Promise<string | undefined> {
    const leaders = (await this.statuses())
      .filter((s) => s.role === 'leader')
      .sort((a, b) => b.term - a.term);
    return leaders[0]?.id;
  }

  /** What each node's log says and what it applied, once all have applied the same last index; else undefined. */
  async converged(ms: number): Promise<{ views: NodeView[]; data: Record<string, string>[] } | undefined> {
    return poll(ms, async () => {
      const views = await Promise.all(this.ids.map((id) => this.status(id)));
      const [first] = views;
      if (!views.every((v) => v.appliedIndex === first!.appliedIndex && v.lastIndex === v.appliedIndex))
        return undefined;
      const dumps = await Promise.all(
        this.ids.map(async (id) => {
          const response = await fetch(`${this.url(id)}/debug/kv`, { signal: AbortSignal.timeout(5_000) });
          return (await response.json()) as { appliedIndex: number; data: Record<string, string> };
        }),
      );
      if (!dumps.every((d) => d.appliedIndex === first!.appliedIndex)) return undefined;
      return { views, data: dumps.map((d) => d.data) };
    });
  }

  /** The lines each node wrote, every incarnation, for the failure folder. */
  logs(): ReadonlyMap<string, readonly string[]> {
    return this.#logs;
  }

  /** Stops every node cleanly (so their traces are complete), then the proxies. */
  async stop(): Promise<void> {
    for (const id of this.ids) this.resume(id);
    this.mesh.heal();
    await Promise.all(
      [...this.processes.values()].map(async (node) => {
        const killer = setTimeout(() => node.child.kill('SIGKILL'), 10_000);
        await node.kill('SIGTERM');
        clearTimeout(killer);
      }),
    );
    await this.mesh.close();
  }

  #config(id: string): KvNodeConfig {
    const config = this.configs.find((c) => c.id === id);
    if (config === undefined) throw new Error(`no node ${id}`);
    return config;
  }
}
