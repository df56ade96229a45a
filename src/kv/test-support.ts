/** Key-value nodes in this process, on loopback and temporary directories, for tests of the assembled service. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { freePorts } from './free-ports.js';
import { clusterConfigs, KvNode, type KvNodeConfig } from './kv-node.js';

/** Configs of an n-node cluster on loopback, with fresh ports and a data directory per node under `root`. */
export async function localClusterConfigs(ids: readonly string[], root: string): Promise<KvNodeConfig[]> {
  const ports = await freePorts(2 * ids.length);
  const members = ids.map((id, position) => ({
    id,
    raft: { host: '127.0.0.1', port: ports[2 * position]! },
    http: { host: '127.0.0.1', port: ports[2 * position + 1]! },
  }));
  return clusterConfigs(members, root, {
    secret: 'test secret',
    electionTimeout: [150, 300],
    heartbeatInterval: 50,
  });
}

/** An answer as tests look at it: `json` is whatever the body parses to (undefined if it is not JSON). */
export interface HttpReply {
  readonly status: number;
  readonly headers: Headers;
  readonly json: ReturnType<typeof JSON.parse>;
  readonly text: string;
}

/**
 * For a test file whose tests each start their own cluster (`start`): stops it after each test and checks that
 * no node died meanwhile.
 */
export function clusterPerTest() {
  let current: InProcessCluster | undefined;
  afterEach(async () => {
    await current?.stop();
    expect(current?.fatal ?? []).toEqual([]);
    current = undefined;
  });
  return {
    /** Starts this test's cluster (`extra` adds to each node's config) and waits for its leader. */
    async start(
      extra?: (id: string) => Partial<KvNodeConfig>,
    ): Promise<{ leader: KvNode; followers: KvNode[] }> {
      current = await InProcessCluster.start(undefined, extra);
      return current.roles();
    },
    get cluster(): InProcessCluster {
      if (current === undefined) throw new Error('no cluster started in this test');
      return current;
    },
  };
}

export class InProcessCluster {
  private constructor(
    readonly root: string,
    readonly nodes: KvNode[],
    readonly fatal: Error[],
  ) {}

  /** `extra` adds to each node's config (a trace file, say). */
  static async start(
    ids: readonly string[] = ['a', 'b', 'c'],
    extra: (id: string) => Partial<KvNodeConfig> = () => ({}),
  ): Promise<InProcessCluster> {
    const root = await mkdtemp(join(tmpdir(), 'pureraft-kv-'));
    const fatal: Error[] = [];
    const configs = await localClusterConfigs(ids, root);
    const nodes = configs.map(
      (config) =>
        new KvNode(
          { ...config, ...extra(config.id) },
          () => {},
          (error) => fatal.push(error),
        ),
    );
    await Promise.all(nodes.map((node) => node.start()));
    return new InProcessCluster(root, nodes, fatal);
  }

  url(node: KvNode, path: string): string {
    return `http://127.0.0.1:${node.config.http.port}${path}`;
  }

  /** A request to `node` that follows no redirect: its status, headers, text and, if JSON, parsed body. */
  async call(node: KvNode, path: string, init: RequestInit = {}): Promise<HttpReply> {
    const response = await fetch(this.url(node, path), { redirect: 'manual', ...init });
    const text = await response.text();
    const json = response.headers.get('content-type') === 'application/json' ? JSON.parse(text) : undefined;
    return { status: response.status, headers: response.headers, json, text };
  }

  /** The leader once every node knows it (see `leader`), and the other nodes. */
  async roles(ms = 5_000): Promise<{ leader: KvNode; followers: KvNode[] }> {
    const leader = await this.leader(ms);
    return { leader, followers: this.nodes.filter((node) => node !== leader) };
  }

  /** Waits (at most `ms`) until one node leads and every node knows it. */
  async leader(ms = 5_000): Promise<KvNode> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const leader = this.nodes.find((node) => node.node.status().role === 'leader');
      if (
        leader !== undefined &&
        this.nodes.every((node) => node.node.status().leaderId === leader.config.id)
      )
        return leader;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no leader known to every node within ${ms} ms`);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
    await rm(this.root, { recursive: true, force: true });
  }
}
