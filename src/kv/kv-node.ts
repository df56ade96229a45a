/**
 * One node of the replicated key-value service, assembled: the write-ahead log on disk, the TCP transport, the
 * store as the state machine of a RaftNode, and the HTTP API. `startKvNode` starts it; `stop` undoes it.
 */
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeId } from '../core/index.js';
import { jsonCodec } from '../effects/binary.js';
import { DiskStorage } from '../effects/storage/index.js';
import { TcpTransport } from '../effects/transport/index.js';
import { RaftNode } from '../runtime/node/index.js';
import { type ApiAuth, ApiTokens } from './api-auth.js';
import { Batcher } from './batcher.js';
import type { KvEntry, KvEntryResult } from './commands.js';
import { KvHttpServer } from './http.js';
import { renderNodeMetrics } from './node-metrics.js';
import type { RequestLimits } from './request.js';
import { KvStateMachine } from './state-machine.js';

export interface Address {
  readonly host: string;
  readonly port: number;
}

/** Where a node can be reached: its Raft port (peers only) and its HTTP API. */
export interface Member {
  readonly raft: Address;
  readonly http: Address;
}

export interface KvNodeConfig {
  readonly id: NodeId;
  /** Where this node listens. */
  readonly raft: Address;
  readonly http: Address;
  /** The other voters of the cluster. */
  readonly peers: Readonly<Record<NodeId, Member>>;
  /** The write-ahead log's directory. */
  readonly dataDir: string;
  /** The cluster's shared secret, proven by every Raft connection; needed unless `tls` is given. */
  readonly secret?: string;
  /**
   * PEM files: this node's certificate (its subject CN is its id) and key, and the cluster's CA. With them,
   * peers authenticate with mutual TLS instead of the secret, and the HTTP API is served over HTTPS.
   */
  readonly tls?: TlsFiles;
  /** A tokens file (api-auth.ts): clients must then present a bearer token. Without it the API is open. */
  readonly tokensFile?: string;
  /** With `tokensFile`: serve /status and /metrics without a token. */
  readonly openStatus?: boolean;
  /** Election timeout range, ms. Default [400, 800]: well above a loaded disk's sync time. */
  readonly electionTimeout?: readonly [number, number];
  /** Default 100 ms. */
  readonly heartbeatInterval?: number;
  /** Records the run for `pureraft replay`. */
  readonly tracePath?: string;
  readonly limits?: RequestLimits;
  readonly maxPendingProposals?: number;
  readonly proposalTimeoutMs?: number;
}

export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/** One node of a cluster: its id and where it listens. */
export interface ClusterMember extends Member {
  readonly id: NodeId;
}

/**
 * Every member's config for a cluster whose members all know each other: each lists the others as peers and
 * keeps its log in `<dataDir>/<id>`. `shared` is what they all have in common (secret, timeouts, ...).
 */
export function clusterConfigs(
  members: readonly ClusterMember[],
  dataDir: string,
  shared: Omit<KvNodeConfig, 'id' | 'raft' | 'http' | 'peers' | 'dataDir' | 'tracePath'>,
  tracePathOf?: (id: NodeId) => string,
): KvNodeConfig[] {
  return members.map(({ id, raft, http }) => ({
    ...shared,
    id,
    raft,
    http,
    peers: Object.fromEntries(
      members.filter((m) => m.id !== id).map((m) => [m.id, { raft: m.raft, http: m.http }]),
    ),
    dataDir: join(dataDir, id),
    ...(tracePathOf !== undefined && { tracePath: tracePathOf(id) }),
  }));
}

export const DEFAULT_ELECTION_TIMEOUT = [400, 800] as const;
export const DEFAULT_HEARTBEAT_INTERVAL = 100;

export function formatAddress({ host, port }: Address): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export class KvNode {
  readonly machine = new KvStateMachine();
  readonly node: RaftNode<KvEntry, KvEntryResult>;
  readonly storage: DiskStorage<KvEntry>;
  readonly transport: TcpTransport<KvEntry>;
  readonly http: KvHttpServer;
  readonly batcher: Batcher;
  #fatal: Error | null = null;

  /**
   * Builds the node without touching the network or the log (it reads the certificate and token files it is
   * given); `start` does that. `onFatal`: the node died (a disk write failed, ...); its HTTP server is closed
   * by then.
   */
  constructor(
    readonly config: KvNodeConfig,
    log: (line: string) => void,
    onFatal: (error: Error) => void,
  ) {
    const codec = jsonCodec<KvEntry>();
    const tls = config.tls === undefined ? undefined : readTlsFiles(config.tls);
    if (tls === undefined && config.secret === undefined)
      throw new RangeError(`node ${config.id}: give either the cluster secret or TLS certificate files`);
    this.storage = new DiskStorage<KvEntry>(config.dataDir, { codec });
    this.transport = new TcpTransport<KvEntry>({
      id: config.id,
      listen: config.raft,
      peers: Object.fromEntries(Object.entries(config.peers).map(([id, member]) => [id, member.raft])),
      ...(tls === undefined ? { secret: config.secret } : { tls }),
      codec,
      logger: log,
    });
    this.node = new RaftNode<KvEntry, KvEntryResult>({
      config: {
        id: config.id,
        voters: [config.id, ...Object.keys(config.peers)],
        electionTimeout: config.electionTimeout ?? DEFAULT_ELECTION_TIMEOUT,
        heartbeatInterval: config.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL,
        // Fresh per process: nodes restarted together must not draw the same election timeouts again.
        seed: randomInt(2 ** 31),
      },
      storage: this.storage,
      transport: this.transport,
      stateMachine: this.machine,
      // A dead node must not keep serving: its /status would go on reporting its last role.
      onFatal: (error) => {
        this.#fatal = error;
        void this.http
          .close()
          .catch(() => {})
          .finally(() => onFatal(error));
      },
      ...(config.tracePath !== undefined && { tracePath: config.tracePath }),
      ...(config.maxPendingProposals !== undefined && { maxPendingProposals: config.maxPendingProposals }),
      ...(config.proposalTimeoutMs !== undefined && { proposalTimeoutMs: config.proposalTimeoutMs }),
    });
    this.batcher = new Batcher((entry) => this.node.propose(entry));
    this.http = new KvHttpServer({
      propose: (command) => this.batcher.submit(command),
      httpAddressOf: (id) => {
        const address = id === config.id ? config.http : config.peers[id]?.http;
        return address === undefined ? undefined : formatAddress(address);
      },
      status: () => this.statusReport(),
      debugKv: () => ({
        id: config.id,
        appliedIndex: this.node.status().appliedIndex,
        size: this.machine.size,
        data: Object.fromEntries(this.machine.dump()),
      }),
      metrics: () => this.metricsText(),
      log,
      ...(config.limits !== undefined && { limits: config.limits }),
      ...(tls !== undefined && { tls: { cert: tls.cert, key: tls.key } }),
      ...(config.tokensFile !== undefined && { auth: readApiAuth(config.tokensFile, config.openStatus) }),
    });
  }

  /** Opens the log (refusing a corrupt one), joins the cluster, then serves HTTP. */
  async start(): Promise<void> {
    await this.node.start();
    try {
      await this.http.listen(this.config.http.host, this.config.http.port);
    } catch (error) {
      await this.node.stop();
      throw error;
    }
    // Died while the server was starting to listen: close it again.
    if (this.#fatal !== null) {
      await this.http.close();
      throw this.#fatal;
    }
  }

  statusReport() {
    const status = this.node.status();
    return {
      id: status.id,
      role: status.role,
      term: status.term,
      leader: status.leaderId,
      votedFor: status.votedFor,
      commitIndex: status.commitIndex,
      appliedIndex: status.appliedIndex,
      lastIndex: status.lastIndex,
      lastTerm: status.lastTerm,
      pendingProposals: this.node.pendingProposals,
      queuedEvents: this.node.queueLength,
      raft: formatAddress(this.config.raft),
      http: formatAddress(this.config.http),
      peers: Object.entries(this.config.peers).map(([id, member]) => ({
        id,
        raft: formatAddress(member.raft),
        http: formatAddress(member.http),
      })),
    };
  }

  metricsText(): string {
    return renderNodeMetrics({
      status: this.node.status(),
      node: this.node.stats,
      pendingProposals: this.node.pendingProposals,
      queuedEvents: this.node.queueLength,
      transport: this.transport.stats,
      storage: this.storage.stats,
      keys: this.machine.size,
      sessions: this.machine.sessions,
      proposed: this.batcher.stats,
      httpRequests: this.http.requestCounts(),
    });
  }

  /** Stops taking requests, then stops the node (its log is closed cleanly). */
  async stop(): Promise<void> {
    await this.http.close();
    await this.node.stop();
  }
}

/** Reads a node's certificate, key and CA; an error names the file. */
function readTlsFiles(files: TlsFiles): { cert: string; key: string; ca: string } {
  return { cert: readText(files.cert), key: readText(files.key), ca: readText(files.ca) };
}

function readApiAuth(tokensFile: string, openStatus = false): ApiAuth {
  return { tokens: ApiTokens.parse(readText(tokensFile), tokensFile), openStatus };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
}
