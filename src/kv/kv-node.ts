/**
 * One node of the replicated key-value service, assembled: the write-ahead log on disk, the TCP transport, the
 * store as the state machine of a RaftNode, and the HTTP API. `startKvNode` starts it; `stop` undoes it.
 * Snapshots: the storage's snapshot files are what the transport sends and receives, and the node compacts its
 * log by the service's policy (DEFAULT_KV_SNAPSHOT_POLICY).
 */
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeId } from '../core/index.js';
import { jsonCodec } from '../effects/binary.js';
import { DiskStorage } from '../effects/storage/index.js';
import { TcpTransport } from '../effects/transport/index.js';
import {
  LatencyRecorder,
  NotLeaderError,
  RaftNode,
  RequestTimeoutError,
  type SnapshotPolicy,
} from '../runtime/node/index.js';
import { type Address, formatAddress, type Member } from './address.js';
import { type ApiAuth, ApiTokens } from './api-auth.js';
import { Batcher } from './batcher.js';
import { ClusterAdmin } from './cluster-admin.js';
import type { KvCommand, KvEntry, KvEntryResult, KvResult } from './commands.js';
import { KvHttpServer } from './http.js';
import { MemberCredential } from './member-credential.js';
import { renderNodeMetrics } from './node-metrics.js';
import { checkNodeRecord, readNodeRecord, writeNodeRecord } from './node-record.js';
import { PeerCache } from './peer-cache.js';
import { membersOf, PeerSync } from './peer-sync.js';
import { fetchReadIndex } from './read-forwarding.js';
import type { Consistency, RequestLimits } from './request.js';
import { SharedReads } from './shared-reads.js';
import { KvStateMachine } from './state-machine.js';

export type { Member } from './address.js';

export interface KvNodeConfig {
  readonly id: NodeId;
  /** Where this node listens. */
  readonly raft: Address;
  readonly http: Address;
  /**
   * The other members this node knows of at start: the seeds of its address book (peer-sync.ts). For a founding
   * member, the other voters; the replicated address book and the configuration in the log take over from them.
   */
  readonly peers: Readonly<Record<NodeId, Member>>;
  /**
   * Where this node dials some members' Raft ports, over what the address book and `peers` say: for a node that
   * reaches a member at another address than the one it listens on (NAT, a tunnel, a proxy; peer-sync.ts).
   */
  readonly routes?: Readonly<Record<NodeId, Address>>;
  /**
   * Where this node dials some members' HTTP APIs for its own requests to them (a follower's read index), over
   * what the address book says, as `routes` does for Raft. Clients are still sent to the book's addresses.
   */
  readonly httpRoutes?: Readonly<Record<NodeId, Address>>;
  /**
   * The voters this node starts with when its log says nothing yet. Default: itself and its peers (a founding
   * member). A node joining a running cluster gives the cluster's voters at the time, which leave it out: it then
   * never campaigns until a configuration makes it a voter (CONTRACT.md, Widening 1).
   */
  readonly initialVoters?: readonly NodeId[];
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
  /**
   * Lease reads (thesis §6.4.1, core/reads.ts): the leader answers linearizable reads without a round while its
   * lease holds. Every member must run with it. Default false.
   */
  readonly leaseReads?: boolean;
  /** Records the run for `pureraft replay`. */
  readonly tracePath?: string;
  readonly limits?: RequestLimits;
  readonly maxPendingProposals?: number;
  readonly proposalTimeoutMs?: number;
  /** When to compact the log; `false`: never. Default DEFAULT_KV_SNAPSHOT_POLICY. */
  readonly snapshotPolicy?: SnapshotPolicy | false;
  /** Size of a write-ahead log segment. Default KV_WAL_SEGMENT_BYTES. */
  readonly walSegmentBytes?: number;
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

/** How long a stopping node waits for the answers to requests under way before it closes their connections. */
const STOP_ANSWER_GRACE_MS = 2_000;

/**
 * The service's snapshot policy: far below RaftNode's general default (64 MiB of commands), because what the
 * log holds between snapshots is memory on every node (a command is several times its JSON size as an object)
 * and replay time at a restart. A few MiB of commands keep both small and flat next to a process's own ~60 MiB,
 * whatever the store's size (bench/growth.ts measures it); the cost is rewriting the whole store that often,
 * which a much larger store may want to trade back with --snapshot-bytes.
 */
export const DEFAULT_KV_SNAPSHOT_POLICY = { entries: 10_000, bytes: 4 * 1024 * 1024 } as const;

/**
 * Write-ahead log segments of the service: a restart replays whole segments, also the records a snapshot
 * covers, and compaction deletes only whole segments, so a segment not much larger than the policy's bytes
 * keeps restarts and disk use flat.
 */
export const KV_WAL_SEGMENT_BYTES = 8 * 1024 * 1024;

/**
 * Set to a directory, a node marks where each write's time goes (runtime/node/latency.ts) and writes the marks
 * to `<dir>/<id>.latency.jsonl` when it stops: for bench/latency.ts, not for production.
 */
export const LATENCY_TRACE_ENV = 'PURERAFT_LATENCY_TRACE';

export class KvNode {
  readonly machine = new KvStateMachine();
  readonly node: RaftNode<KvEntry, KvEntryResult>;
  readonly storage: DiskStorage<KvEntry>;
  readonly transport: TcpTransport<KvEntry>;
  readonly http: KvHttpServer;
  readonly batcher: Batcher;
  /** Linearizable reads share ReadIndex requests (see shared-reads.ts). */
  readonly reads: SharedReads;
  /** Keeps the transport's peers the members of the configuration, at their recorded addresses. */
  readonly peerSync: PeerSync;
  readonly admin: ClusterAdmin;
  /** Reads answered, by consistency, for /metrics. */
  readonly readsServed: Record<Consistency, number> = { linearizable: 0, serializable: 0 };
  readonly #log: (line: string) => void;
  readonly #peerCache: PeerCache;
  #fatal: Error | null = null;
  /** The voters before any configuration in the log: the data directory's record's (node-record.ts). */
  readonly #bootstrapVoters: readonly NodeId[];
  /** Whether the data directory had its record when the node was built. */
  readonly #recorded: boolean;
  /** Set by LATENCY_TRACE_ENV: the latency marks, and where they go at `stop`. */
  readonly #latency: { readonly recorder: LatencyRecorder; readonly path: string } | undefined;

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
    this.#log = log;
    const latencyDir = process.env[LATENCY_TRACE_ENV];
    this.#latency =
      latencyDir === undefined || latencyDir === ''
        ? undefined
        : { recorder: new LatencyRecorder(config.id), path: join(latencyDir, `${config.id}.latency.jsonl`) };
    const codec = jsonCodec<KvEntry>();
    const recorded = readNodeRecord(config.dataDir);
    checkNodeRecord(config.dataDir, config.id, recorded);
    this.#recorded = recorded !== undefined;
    this.#bootstrapVoters = recorded?.voters ??
      config.initialVoters ?? [config.id, ...Object.keys(config.peers)];
    const tls = config.tls === undefined ? undefined : readTlsFiles(config.tls);
    if (tls === undefined && config.secret === undefined)
      throw new RangeError(`node ${config.id}: give either the cluster secret or TLS certificate files`);
    const member =
      tls === undefined
        ? MemberCredential.ofSecret(config.id, config.secret!)
        : MemberCredential.ofTls(config.id, tls, (id) => this.transport.members.includes(id));
    this.storage = new DiskStorage<KvEntry>(config.dataDir, {
      codec,
      segmentBytes: config.walSegmentBytes ?? KV_WAL_SEGMENT_BYTES,
    });
    this.transport = new TcpTransport<KvEntry>({
      snapshots: this.storage.snapshots,
      id: config.id,
      listen: config.raft,
      peers: Object.fromEntries(
        Object.entries(config.peers).map(([id, member]) => [id, config.routes?.[id] ?? member.raft]),
      ),
      ...(tls === undefined ? { secret: config.secret } : { tls }),
      codec,
      logger: log,
    });
    // Seeds: the peers given, and those this node learned before a restart that the flags do not name.
    this.#peerCache = new PeerCache(config.dataDir, log);
    const { [config.id]: _self, ...cached } = this.#peerCache.members;
    this.peerSync = new PeerSync(
      config.id,
      this.transport,
      this.machine.addressBook,
      { ...cached, ...config.peers },
      config.routes ?? {},
      log,
      (members) => this.#peerCache.save(members),
    );
    this.machine.onAddressBook = () => this.peerSync.sync();
    this.node = new RaftNode<KvEntry, KvEntryResult>({
      config: {
        id: config.id,
        voters: this.#bootstrapVoters,
        electionTimeout: config.electionTimeout ?? DEFAULT_ELECTION_TIMEOUT,
        heartbeatInterval: config.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL,
        ...(config.leaseReads === true && { leaseReads: true }),
        // Fresh per process: nodes restarted together must not draw the same election timeouts again.
        seed: randomInt(2 ** 31),
      },
      storage: this.storage,
      transport: this.transport,
      stateMachine: this.machine,
      snapshotPolicy: kvSnapshotPolicy(config.snapshotPolicy),
      onMembershipChange: (membership) => this.peerSync.membershipChanged(membership),
      logLeadership: log,
      // A follower's linearizable read asks the leader for the index over HTTP (read-forwarding.ts). A leader cut
      // off from the others fails reads within about two election timeouts (check-quorum), so wait no longer.
      forwardRead: (leaderId) => {
        const route = config.httpRoutes?.[leaderId];
        const address = route === undefined ? this.#httpAddressOf(leaderId) : formatAddress(route);
        if (address === undefined) return Promise.reject(new NotLeaderError(null));
        return fetchReadIndex(leaderId, address, 2 * this.#electionTimeout[1], member);
      },
      // A dead node must not keep serving: its /status would go on reporting its last role.
      onFatal: (error) => {
        this.#fatal = error;
        void this.http
          .close()
          .catch(() => {})
          .finally(() => onFatal(error));
      },
      ...(config.tracePath !== undefined && { tracePath: config.tracePath }),
      ...(this.#latency !== undefined && { latency: this.#latency.recorder }),
      ...(config.maxPendingProposals !== undefined && { maxPendingProposals: config.maxPendingProposals }),
      ...(config.proposalTimeoutMs !== undefined && { proposalTimeoutMs: config.proposalTimeoutMs }),
    });
    this.batcher = new Batcher((entry) => this.node.propose(entry));
    this.reads = new SharedReads(() => this.#readIndex());
    this.admin = new ClusterAdmin(
      this.node,
      (id) => (id === config.id ? { raft: config.raft, http: config.http } : this.peerSync.addressOf(id)),
      () => this.#onLeader(),
    );
    this.http = new KvHttpServer({
      propose: (command) => this.#propose(command),
      read: (key, consistency) => this.read(key, consistency),
      readIndex: () => this.#leaderReadIndex(),
      transferLeadership: (to) => this.#transferLeadership(to),
      cluster: this.admin,
      httpAddressOf: (id) => this.#httpAddressOf(id),
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
      ...(tls !== undefined && { tls }),
      member,
      ...(config.tokensFile !== undefined && { auth: readApiAuth(config.tokensFile, config.openStatus) }),
    });
  }

  get #electionTimeout(): readonly [number, number] {
    return this.config.electionTimeout ?? DEFAULT_ELECTION_TIMEOUT;
  }

  #httpAddressOf(id: NodeId): string | undefined {
    const address = id === this.config.id ? this.config.http : this.peerSync.addressOf(id)?.http;
    return address === undefined ? undefined : formatAddress(address);
  }

  /**
   * A key's value. Linearizable: once this node has applied through an index from a ReadIndex request that
   * began after the read arrived (on a follower, the leader's), so the value is at least as new as any write
   * acknowledged before; no log entry, no disk write. Serializable: this replica's value at once, possibly stale.
   */
  async read(key: string, consistency: Consistency): Promise<string | null> {
    if (consistency === 'linearizable') await this.reads.index();
    this.readsServed[consistency]++;
    return this.machine.read(key);
  }

  /** A follower's request for a read index: answered only as leader, so that requests never go round in circles. */
  #leaderReadIndex(): Promise<number> {
    const { role, leaderId } = this.node.status();
    if (role !== 'leader') return Promise.reject(new NotLeaderError(leaderId));
    return this.reads.index();
  }

  /**
   * Writes go to the batcher. One refused because no leader is known here (an election is under way) or because
   * this leader is handing leadership over (it takes no proposals meanwhile, thesis §3.10, and names itself as
   * leader) waits for a leader, at most an election timeout: then it goes to the new leader (the usual
   * redirect) or is proposed here again. So a client sees a short delay rather than a 503 or a redirect to the
   * node it asked.
   */
  async #propose(command: KvCommand): Promise<KvResult> {
    const latency = this.#latency?.recorder;
    latency?.mark('request', 0);
    try {
      const result = await this.batcher.submit(command);
      latency?.mark('reply', 0);
      return result;
    } catch (error) {
      if (!this.#leaderUnsettled(error)) throw error;
    }
    const leader = await this.#settledLeader();
    if (leader !== this.config.id) throw new NotLeaderError(leader);
    return this.batcher.submit(command);
  }

  /** A ReadIndex request, through the leader from a follower; waits for a leader as a write does. */
  async #readIndex(): Promise<number> {
    try {
      return await this.node.read();
    } catch (error) {
      if (!this.#leaderUnsettled(error)) throw error;
    }
    await this.#settledLeader();
    return this.node.read();
  }

  /** Was `error` a refusal for want of a leader that is about to be known? */
  #leaderUnsettled(error: unknown): boolean {
    return error instanceof NotLeaderError && (error.leaderId === null || error.leaderId === this.config.id);
  }

  /** The leader, once one is known here and is not handing over; NotLeaderError(null) after an election timeout. */
  #settledLeader(): Promise<NodeId> {
    return this.node
      .until('a leader', this.#electionTimeout[1], (status) =>
        status.transferring === null && status.leaderId !== null ? status.leaderId : undefined,
      )
      .catch((error: unknown) => {
        // Nothing was proposed or read, so a client may retry anywhere.
        throw error instanceof RequestTimeoutError ? new NotLeaderError(null) : error;
      });
  }

  /** For admin requests: waits for a settled leader; NotLeaderError (a redirect) unless it is this node. */
  async #onLeader(): Promise<void> {
    const leader = await this.#settledLeader();
    if (leader !== this.config.id) throw new NotLeaderError(leader);
  }

  async #transferLeadership(to: NodeId | undefined) {
    const from = this.config.id;
    const leader = await this.node.transferLeadership(to);
    return { from, leader, term: this.node.status().term };
  }

  /**
   * If this node leads, hands leadership to the best-placed voter (thesis §3.10) and waits for the new leader at
   * most `timeoutMs` (default: the minimum election timeout, past which an election would have been as quick).
   * Resolves with the new leader, or null when this node did not lead or the transfer did not finish in time.
   */
  async handOverLeadership(timeoutMs = this.#electionTimeout[0]): Promise<NodeId | null> {
    try {
      if (this.node.status().role !== 'leader') return null;
      const leader = await this.node.transferLeadership(undefined, timeoutMs);
      this.#log(`handed leadership over to ${leader}`);
      return leader;
    } catch (error) {
      this.#log(`could not hand leadership over: ${(error as Error).message}`);
      return null;
    }
  }

  /** Opens the log (refusing a corrupt one), joins the cluster, then serves HTTP. */
  async start(): Promise<void> {
    await this.node.start();
    try {
      if (!this.#recorded)
        await writeNodeRecord(this.config.dataDir, { id: this.config.id, voters: this.#bootstrapVoters });
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
      transferring: status.transferring,
      votedFor: status.votedFor,
      commitIndex: status.commitIndex,
      appliedIndex: status.appliedIndex,
      lastIndex: status.lastIndex,
      lastTerm: status.lastTerm,
      // The log holds firstIndex..lastIndex; everything through snapshotIndex is in the snapshot.
      snapshotIndex: status.snapshotIndex,
      firstIndex: status.snapshotIndex + 1,
      pendingProposals: this.node.pendingProposals,
      queuedEvents: this.node.queueLength,
      raft: formatAddress(this.config.raft),
      http: formatAddress(this.config.http),
      membership: status.membership,
      // The other members of the configuration in force, where this node reaches them (null: no address yet):
      // Raft at its route if it has one (peer-sync.ts).
      peers: membersOf(status.membership)
        .filter((id) => id !== status.id)
        .map((id) => {
          const raft = this.peerSync.dialAddressOf(id);
          const http = this.peerSync.addressOf(id)?.http;
          return {
            id,
            raft: raft === undefined ? null : formatAddress(raft),
            http: http === undefined ? null : formatAddress(http),
          };
        }),
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
      memory: process.memoryUsage(),
      proposed: this.batcher.stats,
      reads: { served: this.readsServed, readIndexRequests: this.reads.requests },
      httpRequests: this.http.requestCounts(),
      learnerLag: this.#learnerLag(),
    });
  }

  /** On the leader, how many entries each learner is behind it; empty elsewhere (only the leader knows). */
  #learnerLag(): [NodeId, number][] {
    const progress = this.node.memberProgress();
    if (progress === undefined) return [];
    const { membership, lastIndex } = this.node.status();
    return membership.learners.map((id) => [id, lastIndex - (progress.get(id)?.match ?? 0)]);
  }

  /**
   * Stops taking requests, then stops the node (its log is closed cleanly). With `handOver`, a leader first hands
   * leadership over (`handOverLeadership`) while it still serves HTTP (writes wait for the new leader, then
   * redirect), so that the others need not wait out an election timeout: what a rolling restart wants.
   */
  async stop({ handOver = false }: { readonly handOver?: boolean } = {}): Promise<void> {
    if (handOver) await this.handOverLeadership();
    // No new connections from here; the requests under way are answered as the node stops (a write it could not
    // see through gets its 504), within a bound.
    const closing = this.http.close(STOP_ANSWER_GRACE_MS);
    await this.node.stop();
    await closing;
    await this.#peerCache.idle();
    if (this.#latency !== undefined) await this.#latency.recorder.writeTo(this.#latency.path);
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

/**
 * The service's policy: what was given, the service's default for the rest. A policy that names only its entries
 * (`--snapshot-entries`) keeps the service's 4 MiB; the runtime's default would have made it 64 MiB.
 */
export function kvSnapshotPolicy(given: SnapshotPolicy | false | undefined): SnapshotPolicy | false {
  return given === false ? false : { ...DEFAULT_KV_SNAPSHOT_POLICY, ...given };
}
