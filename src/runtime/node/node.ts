/**
 * A Raft node on real (or test) interpreters: the pure reducer driven by one queue of events.
 *
 * Events (timer firings, messages, proposals) are stepped one at a time, and effects are carried out in the
 * order the reducer gave them, across transitions too, with one refinement that keeps every promise the order
 * makes while letting writes pipeline: a `persist` is handed to storage at once, and every send and apply
 * after it (in this transition or a later one) waits until it is durable (CONTRACT.md, "Effects run in
 * order"). Storage completes persists in call order, so waiting for the last one issued is waiting for all.
 *
 * So the next event is stepped while a write is in flight, and storage gathers the writes of many transitions
 * into one fsync (group commit): a leader's many proposals, a follower's many appends. Nothing becomes
 * visible early: a vote or an acknowledgement leaves only after what it promises is on disk, and a leader
 * that counts its own not-yet-durable entries toward a commit cannot tell anyone, because the apply and the
 * sends carrying the new commit index wait for that write too. A leader's sends placed before its own log
 * write (the core does this, Raft thesis §10.2.1) overlap that write with replication. Timers are local and
 * volatile (a crash loses them), so they are set at once.
 *
 * Snapshots (§7): a `restore` waits for the persist before it like an apply, and everything after it waits for
 * the restore, which streams the snapshot from storage into the state machine. The node takes snapshots by its
 * policy (or `snapshot()`): the state machine captures its state at once and streams it into storage off the
 * event loop's critical path, then the core compacts the log.
 *
 * Reads (ReadIndex, thesis §6.4): `read()` on the leader steps a `read` event and resolves once the core's
 * `readReady` index is applied here; on a follower, it asks the leader for an index (`forwardRead`) and waits
 * for the same.
 *
 * A failed persist (a full disk, an I/O error) leaves the core's state ahead of the disk, so nothing may act on
 * it. With storage that can `reopen`, the node steps aside instead of dying: it takes no part (no timers, every
 * message dropped, so a leader steps down in its peers' eyes), refuses requests with `StorageUnavailableError`
 * naming the cause, and retries `reopen` with backoff; once storage takes writes again it starts the core
 * afresh from what is durable, as a restart would, keeping its state machine (which only ever applied durable,
 * committed entries) and skipping the applies it already made. Without `reopen`, a failed persist is fatal.
 */
import {
  type Config,
  type Durable,
  defaultCommandSize,
  type Effect,
  type Entry,
  type Event,
  init,
  type Membership,
  type Message,
  type NodeId,
  type RaftState,
  type Snapshot,
  type Status,
  status,
  step,
  whyChangeInvalid,
} from '../../core/index.js';
import { Applier, type StateMachine } from '../../effects/apply/index.js';
import { isSnapshotRef } from '../../effects/snapshot-data.js';
import { type Storage, StorageCorruptionError } from '../../effects/storage/index.js';
import { type Clock, realClock, Timers } from '../../effects/timers/index.js';
import type { Transport } from '../../effects/transport/index.js';
import {
  CommandTooLargeError,
  NodeStoppedError,
  NotLeaderError,
  OverloadedError,
  ProposalLostError,
  ProposalTimeoutError,
  RequestRefusedError,
  StorageUnavailableError,
  TransferFailedError,
} from './errors.js';
import type { LatencyRecorder } from './latency.js';
import { LeadershipCounter, type LeadershipStats } from './leadership-stats.js';
import { type Proposal, ProposalBook } from './proposals.js';
import { RoleLog } from './role-log.js';
import { type SnapshotPolicy, settlePolicy, snapshotDue } from './snapshot-policy.js';
import { TraceWriter } from './trace.js';
import { Waiters } from './waiters.js';

export interface RaftNodeOptions<C, R> {
  readonly config: Config;
  readonly storage: Storage<C>;
  readonly transport: Transport<C>;
  readonly stateMachine: StateMachine<C, R>;
  /** Where timers take their time from. Default: the real event loop. */
  readonly clock?: Clock;
  /** Most proposals queued or awaiting commit at once; past it `propose` rejects at once. Default 4096. */
  readonly maxPendingProposals?: number;
  /** How long `propose` waits for its entry to be applied. Default 10 s. */
  readonly proposalTimeoutMs?: number;
  /** When to compact the log (§7); `false`: never (the log grows without bound). Default: snapshot-policy.ts. */
  readonly snapshotPolicy?: SnapshotPolicy | false;
  /**
   * How a follower gets a read index from the leader (ReadIndex through the leader, thesis §6.4): the embedding
   * service asks `leaderId`'s `read()` by its own channel. Without it, `read()` on a follower rejects with
   * `NotLeaderError`.
   */
  readonly forwardRead?: (leaderId: NodeId) => Promise<number>;
  /** Records the run to this new file, for `pureraft replay` (see trace.ts). */
  readonly tracePath?: string;
  /** Watches every transition: `event` is undefined for `init`. For tests and tools; must not throw. */
  readonly onTransition?: (
    event: Event<C> | undefined,
    state: RaftState<C>,
    effects: readonly Effect<C>[],
  ) => void;
  /** The node hit an error it cannot continue from (a disk write failed, the state machine threw) and stopped. */
  readonly onFatal?: (error: Error) => void;
  /**
   * A write failed and the node stepped aside (`error` says why), or storage took writes again and the node
   * rejoined (null). Default: a line on stderr.
   */
  readonly onStorageUnavailable?: (error: Error | null) => void;
  /** The first and the longest wait between attempts to reopen failed storage, ms. Default [100, 5000]. */
  readonly reopenBackoffMs?: readonly [first: number, max: number];
  /** Marks when each entry passes each stage here (latency.ts): where a write's time goes. Default: none. */
  readonly latency?: LatencyRecorder;
  /**
   * The configuration in force here changed (§6: as soon as its entry is in the log, and back when that entry is
   * truncated or a snapshot brings another), or the last committed one did (its entry applied here, or a snapshot
   * restored); and once at start. For a service that must tell its transport who the members are: a member that
   * a configuration leaves out must still be reached until that configuration is committed (a leader removing
   * itself needs its followers' acknowledgements to commit it). Must not throw.
   */
  readonly onMembershipChange?: (change: MembershipChange) => void;
  /** Gets a line for each change of this node's role, term, vote or leader, and why (role-log.ts); what it throws is dropped. */
  readonly logLeadership?: (line: string) => void;
}

export interface MembershipChange {
  /** In force here: the last configuration in the log. */
  readonly current: Membership;
  /** The last configuration this node has applied (committed), or the one it started from. */
  readonly committed: Membership;
}

/** What a leader knows of another member's log: how far it matches its own (§5.3 matchIndex). */
export interface MemberProgress {
  readonly match: number;
  /** Heard from within the current check-quorum period. */
  readonly active: boolean;
}

export interface NodeStatus extends Status {
  /** Last index applied to the state machine in this incarnation. */
  readonly appliedIndex: number;
  /** Set while failed storage keeps the node out (it then reports itself a follower with no leader). */
  readonly unavailable?: string;
}

export interface SnapshotStats {
  /** Snapshots this node took (its own policy or `snapshot()`), and their bytes. */
  readonly taken: number;
  readonly takenBytes: number;
  /** Snapshots installed from a leader, and restored at start, and their bytes (when the data is a ref). */
  readonly installed: number;
  readonly installedBytes: number;
  readonly restored: number;
  readonly restoredBytes: number;
  /** Time spent streaming snapshots into the state machine (installs and restores), in milliseconds. */
  readonly restoreMs: number;
}

export interface RaftNodeStats {
  /** When `start` was called, in milliseconds since the process started (`performance.now()`): in a process
   *  that runs one node, the time its runtime and modules took to load before any durable state was read. */
  readonly startCalledMs: number;
  /** How long `start` took to load the durable state from storage (checks included), in milliseconds. */
  readonly loadMs: number;
  readonly transitions: number;
  readonly persists: number;
  /** Timer firings dropped because the timer was re-armed or cancelled before its turn in the queue. */
  readonly staleTimeouts: number;
  readonly proposals: {
    readonly committed: number;
    readonly notLeader: number;
    readonly overloaded: number;
    readonly lost: number;
    readonly timedOut: number;
  };
  readonly snapshots: SnapshotStats;
  /** Reads answered through ReadIndex (here as leader, or through the leader), and refused. */
  readonly reads: { readonly served: number; readonly failed: number };
  /** Elections, pre-votes, leader changes, check-quorum step-downs and transfers seen here. */
  readonly leadership: LeadershipStats;
}

type ProposeEvent<C> = Extract<Event<C>, { type: 'propose' }>;
type Queued<C> =
  | { readonly event: Exclude<Event<C>, ProposeEvent<C>>; readonly proposal?: undefined }
  | { readonly event: ProposeEvent<C>; readonly proposal: Proposal };

type Phase = 'new' | 'starting' | 'running' | 'unavailable' | 'stopping' | 'stopped' | 'failed';

/** Most persists handed to storage and not yet durable before the node stops stepping to let them land. */
const MAX_PERSISTS_IN_FLIGHT = 1024;

export class RaftNode<C, R> {
  readonly #options: RaftNodeOptions<C, R>;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #applier: Applier<C, R>;
  readonly #proposals: ProposalBook<R>;
  readonly #queue: Queued<C>[] = [];
  readonly #waiters: Waiters;
  readonly #leadership: LeadershipCounter;
  readonly #roleLog: RoleLog | undefined;
  readonly #policy: ReturnType<typeof settlePolicy>;
  /** The start under way, for a stop that comes meanwhile. */
  #starting: Promise<void> | undefined;
  /** Reads stepped and waiting for the core's answer, by id. */
  readonly #reads = new Map<string, { resolve: (index: number) => void; reject: (error: Error) => void }>();
  #nextReadId = 0;
  /** The snapshot being taken, if any: at most one at a time. */
  #snapshotting: Promise<number> | null = null;
  /** Command bytes applied since the last snapshot, for the policy. */
  #bytesSinceSnapshot = 0;
  #phase: Phase = 'new';
  /** What went wrong in an effect of `init` (a restore): `start` rejects with it. */
  #startFailure: Error | null = null;
  #state: RaftState<C> | undefined;
  #trace: TraceWriter<C> | undefined;
  /** The running drain of the queue, if any: at most one, so transitions never overlap. */
  #draining: Promise<void> | null = null;
  /** The last persist handed to storage: once it settles, every earlier one has too. */
  #lastPersist: Promise<void> = Promise.resolve();
  /** Persists handed to storage and not yet durable. */
  #persistsInFlight = 0;
  /** Sends and applies waiting for a persist, in order; `#waiting` counts them. */
  #afterPersists: Promise<void> = Promise.resolve();
  #waiting = 0;
  /** Why the node stepped aside, while it is unavailable; and how to stop retrying. */
  #unavailable: StorageUnavailableError | null = null;
  #cancelReopen: () => void = () => {};
  /** What the state machine had applied when the node last rejoined: the core applies those again, skipped. */
  #appliedBeforeRejoin = 0;
  /**
   * The index of the newest snapshot the core told the service to restore. A restore or an apply still queued
   * behind a restore and at or below its index is superseded by it, and skipped: the store keeps only the newest
   * snapshot's data, so an older one queued behind a slow restore could no longer be read.
   */
  #newestRestore = 0;
  /** The configurations last reported to `onMembershipChange`. */
  #membership: Membership | undefined;
  #committedMembership: Membership | undefined;
  readonly #stats = {
    startCalledMs: 0,
    loadMs: 0,
    transitions: 0,
    persists: 0,
    staleTimeouts: 0,
    proposals: { committed: 0, notLeader: 0, overloaded: 0, lost: 0, timedOut: 0 },
    snapshots: {
      taken: 0,
      takenBytes: 0,
      installed: 0,
      installedBytes: 0,
      restored: 0,
      restoredBytes: 0,
      restoreMs: 0,
    },
    reads: { served: 0, failed: 0 },
  };

  constructor(options: RaftNodeOptions<C, R>) {
    this.#options = options;
    this.#clock = options.clock ?? realClock;
    this.#timers = new Timers(this.#clock, (timer) => this.#enqueue({ event: { type: 'timeout', timer } }));
    this.#applier = new Applier(options.stateMachine, ({ entry, result }) => {
      options.latency?.mark('applied', entry.index);
      this.#proposals.applied(entry.index, entry.term, result);
      if (entry.kind === 'command') this.#bytesSinceSnapshot += this.#commandSize(entry.command);
    });
    this.#waiters = new Waiters(this.#clock);
    this.#leadership = new LeadershipCounter(options.config.id);
    this.#roleLog = options.logLeadership && new RoleLog(options.logLeadership);
    this.#policy = settlePolicy(options.snapshotPolicy);
    this.#proposals = new ProposalBook(
      this.#clock,
      options.proposalTimeoutMs ?? 10_000,
      options.maxPendingProposals ?? 4096,
    );
  }

  get id(): string {
    return this.#options.config.id;
  }

  get stats(): RaftNodeStats {
    const { proposals, snapshots, reads } = this.#stats;
    return {
      ...this.#stats,
      proposals: { ...proposals },
      snapshots: { ...snapshots },
      reads: { ...reads },
      leadership: this.#leadership.stats,
    };
  }

  #commandSize(command: unknown): number {
    return (this.#options.config.commandSize ?? defaultCommandSize)(command);
  }

  /** Events waiting to be stepped. */
  get queueLength(): number {
    return this.#queue.length;
  }

  /** Proposals queued or awaiting commit. */
  get pendingProposals(): number {
    return this.#proposals.size;
  }

  /** Loads the durable state, starts the reducer from it, then opens the network. */
  start(): Promise<void> {
    if (this.#phase !== 'new')
      return Promise.reject(new Error(`RaftNode ${this.id}: start called when ${this.#phase}`));
    this.#phase = 'starting';
    this.#starting = this.#startUp();
    return this.#starting;
  }

  async #startUp(): Promise<void> {
    const { config, storage, transport, tracePath } = this.#options;
    try {
      const loading = performance.now();
      this.#stats.startCalledMs = loading;
      const durable = await storage.load();
      this.#stats.loadMs = performance.now() - loading;
      const [state, effects] = init<C>(config, durable);
      if (tracePath !== undefined) {
        this.#trace = await TraceWriter.create<C>(tracePath);
        this.#trace.start(config, durable, [state, effects]);
      }
      this.#state = state;
      this.#roleLog?.observe(undefined, state);
      this.#options.onTransition?.(undefined, state, effects);
      this.#committedMembership = durable.snapshot?.meta.membership ?? {
        voters: config.voters,
        learners: config.learners ?? [],
      };
      this.#noticeMembership();
      this.#execute(effects);
      await this.#settled();
      if (this.#startFailure !== null) throw this.#startFailure;
      transport.onMessage((message) => this.#enqueue({ event: { type: 'receive', message } }));
      await transport.start();
    } catch (error) {
      this.#phase = 'failed';
      await this.#release();
      throw error;
    }
    this.#phase = 'running';
    this.#kick();
  }

  /** Finishes the transition under way, then stops: proposals not yet answered are rejected. */
  async stop(): Promise<void> {
    // A node still starting (loading, restoring a large snapshot) is stopped once it has started.
    if (this.#phase === 'starting') await this.#starting?.catch(() => {});
    if (this.#phase !== 'running' && this.#phase !== 'unavailable') return;
    this.#phase = 'stopping';
    this.#cancelReopen();
    try {
      await this.#draining;
      await this.#settled();
      await this.#release();
    } finally {
      this.#phase = 'stopped';
    }
  }

  status(): NodeStatus {
    if (this.#state === undefined) throw new Error(`RaftNode ${this.id}: not started`);
    const now = { ...status(this.#state), appliedIndex: this.#applier.appliedIndex };
    if (this.#unavailable === null) return now;
    return { ...now, role: 'follower', leaderId: null, unavailable: this.#unavailable.message };
  }

  /**
   * A linearizable read (ReadIndex, thesis §6.4): resolves with an index once this node's state machine has
   * applied through it, so that reading the local state then is linearizable. On the leader, the core confirms
   * its leadership with a majority first; on a follower, the leader is asked for the index (`forwardRead`).
   * Rejects with `NotLeaderError` when no leader can be asked, or with `RequestTimeoutError`.
   */
  async read(): Promise<number> {
    const { role, leaderId } = this.#running();
    const timeoutMs = this.#options.proposalTimeoutMs ?? 10_000;
    let index: number;
    try {
      if (role === 'leader') {
        const id = `r${++this.#nextReadId}`;
        const confirmed = new Promise<number>((resolve, reject) => {
          this.#reads.set(id, { resolve, reject });
          this.#enqueue({ event: { type: 'read', id } });
        });
        index = await this.#waiters.within('read', timeoutMs, confirmed, () => this.#reads.delete(id));
      } else if (leaderId !== null && this.#options.forwardRead !== undefined) {
        index = await this.#options.forwardRead(leaderId);
      } else {
        throw new NotLeaderError(leaderId);
      }
      // The node may have stopped while the index was on its way: a wait begun now would outlive it.
      this.#running();
      const applied = await this.#waiters.wait('read', timeoutMs, () =>
        this.#applier.appliedIndex >= index ? index : undefined,
      );
      this.#stats.reads.served++;
      return applied;
    } catch (error) {
      this.#stats.reads.failed++;
      throw error;
    }
  }

  /**
   * Hands leadership to `to` (thesis §3.10), or without `to` to the voter best placed to take it (see
   * `#transferTarget`), and resolves with the new leader once this node follows it (at once if `to` is this
   * leader). Rejects at once with `NotLeaderError` on a follower and `RequestRefusedError` if `to` is not a
   * voter or there is no other voter; later with `TransferFailedError` if the transfer ended without its
   * target leading, or `RequestTimeoutError` after `timeoutMs` (default: two maximum election timeouts).
   */
  async transferLeadership(to?: NodeId, timeoutMs?: number): Promise<NodeId> {
    const before = this.#settledRunning();
    if (before.role !== 'leader') throw new NotLeaderError(before.leaderId);
    const target = to ?? this.#transferTarget();
    if (target === undefined)
      throw new RequestRefusedError('cannot transfer leadership: there is no other voter');
    if (target === this.id) return target;
    this.#stepNow({ type: 'transferLeadership', to: target });
    if (status(this.#state!).transferring !== target) {
      throw new RequestRefusedError(
        `cannot transfer leadership to ${target}: not a voter of the configuration`,
      );
    }
    const [, max] = this.#options.config.electionTimeout;
    return this.#waiters.wait(`transfer of leadership to ${target}`, timeoutMs ?? 2 * max, () => {
      const now = status(this.#state!);
      if (now.leaderId === target) return target;
      // Between this leader's vote for the target and the target's first append, no leader is known. A leader
      // known again, other than the target or this one still handing over, means the transfer is over.
      if (now.leaderId !== null && now.transferring !== target)
        throw new TransferFailedError(target, now.leaderId);
      return undefined;
    });
  }

  /**
   * The voter best placed to take over: one heard from in the current check-quorum period before one that was
   * not (it may be down), then the most caught up, which needs the fewest entries before it can campaign. Reads
   * the core's replication progress, which `status()` does not report.
   */
  #transferTarget(): NodeId | undefined {
    const state = this.#state!;
    let best: { id: NodeId; active: boolean; match: number } | undefined;
    for (const id of status(state).membership.voters) {
      const progress = state.progress.get(id);
      if (id === this.id || progress === undefined) continue;
      const candidate = { id, active: progress.recentActive, match: progress.match };
      const better =
        best === undefined ||
        (candidate.active && !best.active) ||
        (candidate.active === best.active && candidate.match > best.match);
      if (better) best = candidate;
    }
    return best?.id;
  }

  /**
   * On the leader, what it knows of each other member's log (voters, outgoing voters and learners), by id; undefined
   * on any other node, which does not track it. A learner's lag behind the leader is `lastIndex - match`: what the
   * service weighs before promoting it (§6: a new server catches up as a non-voting member first).
   */
  memberProgress(): ReadonlyMap<NodeId, MemberProgress> | undefined {
    const state = this.#state;
    if (state === undefined || this.#phase !== 'running' || status(state).role !== 'leader') return undefined;
    const progress = new Map<NodeId, MemberProgress>();
    for (const id of state.progress.ids()) {
      const record = state.progress.get(id);
      if (id !== this.id && record !== undefined)
        progress.set(id, { match: record.match, active: record.recentActive });
    }
    return progress;
  }

  /**
   * Resolves with `check`'s first value other than undefined, checked at once and after every transition and
   * apply; rejects with what `check` throws, with `RequestTimeoutError` naming `what` after `timeoutMs`, or with
   * `NodeStoppedError` when the node stops. For a service waiting for the node to reach a state (a leadership
   * transfer to end, say) without polling.
   */
  until<T>(what: string, timeoutMs: number, check: (status: NodeStatus) => T | undefined): Promise<T> {
    this.#running();
    return this.#waiters.wait(what, timeoutMs, () => check(this.status()));
  }

  /**
   * Changes the configuration (§6, through the joint configuration) and resolves once the new one is applied
   * here. Rejects at once with the reason when the change is malformed or another one is in progress, or with
   * `NotLeaderError` on a follower.
   */
  async changeMembership(voters: readonly NodeId[], learners: readonly NodeId[] = []): Promise<Membership> {
    const before = this.#settledRunning();
    if (before.role !== 'leader') throw new NotLeaderError(before.leaderId);
    const reason = whyChangeInvalid(before.membership, voters, learners);
    if (reason !== undefined) throw new RequestRefusedError(`membership change refused: ${reason}`);
    this.#stepNow({ type: 'changeMembership', voters, learners });
    const appended = status(this.#state!).lastIndex;
    if (appended === before.lastIndex) {
      throw new RequestRefusedError(
        'membership change refused: the last one is not committed yet, or a leadership transfer is under way',
      );
    }
    const target: Membership = { voters: [...voters], learners: [...learners] };
    return this.#waiters.wait('membership change', this.#options.proposalTimeoutMs ?? 10_000, () => {
      const now = status(this.#state!);
      const done =
        now.commitIndex > appended &&
        this.#applier.appliedIndex > appended &&
        sameMembership(now.membership, target);
      return done ? now.membership : undefined;
    });
  }

  /**
   * Takes a snapshot of everything applied (§7) and resolves with its index once it is durable and the log is
   * compacted through it. A snapshot already being taken is awaited instead. When the core turns it down (see
   * `#takeSnapshot`), resolves with the index of the snapshot the node has.
   */
  snapshot(): Promise<number> {
    this.#running();
    this.#snapshotting ??= this.#takeSnapshot().finally(() => {
      this.#snapshotting = null;
    });
    return this.#snapshotting;
  }

  /** The status, or NodeStoppedError when the node is not running. */
  #running(): NodeStatus {
    if (this.#phase !== 'running' || this.#state === undefined)
      throw this.#unavailable ?? new NodeStoppedError();
    return this.status();
  }

  /**
   * The status once everything queued is stepped: what a request that steps an event at once must judge by, and
   * compare with after its step. Judged before, a proposal queued meanwhile moved the log's end, and a change
   * the core refused looked appended; a step down queued meanwhile looked like a refusal.
   */
  #settledRunning(): NodeStatus {
    this.#running();
    this.#drainQueue();
    return this.#running();
  }

  /** Steps an event at once, in order after everything queued (the queue is drained first). */
  #stepNow(event: Exclude<Event<C>, ProposeEvent<C>>): void {
    this.#drainQueue();
    this.#process({ event });
  }

  #drainQueue(): void {
    while (this.#queue.length > 0) this.#process(this.#queue.shift()!);
  }

  async #takeSnapshot(): Promise<number> {
    const { stateMachine, storage } = this.#options;
    if (stateMachine.snapshot === undefined || stateMachine.restore === undefined) {
      throw new Error(
        `RaftNode ${this.id}: the state machine cannot take snapshots (snapshot/restore missing)`,
      );
    }
    // A restore in progress changes the whole state: capture after it.
    await this.#afterPersists;
    const index = this.#applier.appliedIndex;
    if (index <= status(this.#state!).snapshotIndex) return status(this.#state!).snapshotIndex;
    const writer = storage.snapshots.create();
    // After `create`, which may throw: a capture must be consumed, or it holds the state machine's memory.
    const chunks = stateMachine.snapshot();
    const bytesAtCapture = this.#bytesSinceSnapshot;
    let bytes: number;
    try {
      for await (const chunk of chunks) await writer.write(chunk);
      const ref = await writer.finish();
      bytes = ref.bytes;
      if (this.#phase !== 'running') throw new NodeStoppedError();
      this.#stepNow({ type: 'snapshot', index, data: ref });
      // The core ignores an index at or below a snapshot installed meanwhile, and, on a node that joined a
      // running cluster, one below the first configuration entry it holds: then this data is garbage.
      if (status(this.#state!).snapshotIndex !== index) {
        await writer.abort();
        return status(this.#state!).snapshotIndex;
      }
      await this.#lastPersist;
    } catch (error) {
      await writer.abort();
      throw error;
    }
    // Its persist failed: the node stepped aside, and what storage holds is for its reopen to say (the data is
    // not aborted here: a rename may have made it current). Not taken, whatever a stop meanwhile did.
    if (this.#persistFailed()) throw this.#unavailable ?? new NodeStoppedError();
    this.#bytesSinceSnapshot -= bytesAtCapture;
    this.#stats.snapshots.taken++;
    this.#stats.snapshots.takenBytes += bytes;
    return index;
  }

  /** Whether a persist failed since the node started (or rejoined): it stepped aside, or stopped. */
  #persistFailed(): boolean {
    return this.#unavailable !== null || this.#phase === 'failed';
  }

  /** After applies: takes a snapshot in the background when the policy calls for one. */
  #maybeSnapshot(): void {
    if (this.#policy === null || this.#snapshotting !== null || this.#phase !== 'running') return;
    const entriesSince = this.#applier.appliedIndex - status(this.#state!).snapshotIndex;
    const sending = (this.#options.transport.snapshotsInFlight ?? 0) > 0;
    if (!snapshotDue(this.#policy, entriesSince, this.#bytesSinceSnapshot, sending)) return;
    this.snapshot().catch((error: unknown) => {
      // Storage failures stop the node by themselves (persist fails); anything else is worth a line only.
      if (this.#phase === 'running') console.error(`RaftNode ${this.id}: snapshot failed:`, error);
    });
  }

  /**
   * Replicates `command` and resolves with the state machine's result once it is applied on this node. Rejects
   * at once with `NotLeaderError` on a non-leader, `CommandTooLargeError` for a command the transport could not
   * carry, and `OverloadedError` when too many proposals are pending;
   * later with `ProposalLostError` if leadership changed and another entry took its place, or
   * `ProposalTimeoutError`.
   */
  propose(command: C): Promise<R> {
    if (this.#phase !== 'running' || this.#state === undefined)
      return Promise.reject(this.#unavailable ?? new NodeStoppedError());
    const { role, leaderId } = status(this.#state);
    if (role !== 'leader') {
      this.#stats.proposals.notLeader++;
      return Promise.reject(new NotLeaderError(leaderId));
    }
    const limit = this.#options.transport.maxCommandBytes;
    if (limit !== undefined) {
      const bytes = this.#commandSize(command);
      if (bytes > limit) return Promise.reject(new CommandTooLargeError(bytes, limit));
    }
    return new Promise<R>((resolve, reject) => {
      const proposal = this.#proposals.open({
        resolve: (result) => {
          this.#stats.proposals.committed++;
          resolve(result);
        },
        reject: (error) => {
          this.#countRejection(error);
          reject(error);
        },
      });
      this.#enqueue({ event: { type: 'propose', command }, proposal });
    }).catch((error: unknown) => {
      if (error instanceof OverloadedError) this.#stats.proposals.overloaded++;
      throw error;
    });
  }

  #countRejection(error: Error): void {
    const counts = this.#stats.proposals;
    if (error instanceof NotLeaderError) counts.notLeader++;
    else if (error instanceof ProposalLostError) counts.lost++;
    else if (error instanceof ProposalTimeoutError) counts.timedOut++;
  }

  #enqueue(item: Queued<C>): void {
    // Stepped aside: messages and timers mean nothing to a core that will be started afresh.
    if (this.#phase === 'unavailable') return;
    if (this.#options.latency !== undefined && item.event.type === 'receive') {
      markReceived(this.#options.latency, item.event.message);
    }
    this.#queue.push(item);
    this.#kick();
  }

  #kick(): void {
    if (this.#draining === null && this.#phase === 'running' && this.#queue.length > 0) {
      this.#draining = this.#drain();
    }
  }

  async #drain(): Promise<void> {
    // Start on a microtask: the loop may finish without awaiting, and must not clear `#draining` before
    // `#kick` has set it.
    await Promise.resolve();
    try {
      while (this.#phase === 'running') {
        const item = this.#queue.shift();
        if (item === undefined) break;
        this.#process(item);
        // Bound the pipeline: past this many writes in flight, let them land before stepping on.
        if (this.#persistsInFlight >= MAX_PERSISTS_IN_FLIGHT) await this.#lastPersist;
      }
    } catch (error) {
      this.#fail(asError(error));
    } finally {
      this.#draining = null;
    }
  }

  #process({ event, proposal }: Queued<C>): void {
    if (event.type === 'timeout' && !this.#timers.claim(event.timer)) {
      this.#stats.staleTimeouts++;
      return;
    }
    // A proposal that timed out while queued is not proposed: its client already gave up on it.
    if (proposal?.settled) return;
    // Lease reads (core/reads.ts): a read is answered on the lease as the core holds it when the read is
    // stepped, so a lease timer that fell due before then (its timeout still queued, or the event loop behind)
    // is stepped first.
    if (event.type === 'read' && this.#options.config.leaseReads === true) {
      for (const timer of this.#timers.takeOverdue()) this.#step({ type: 'timeout', timer });
    }
    this.#step(event, proposal);
  }

  #step(event: Event<C>, proposal?: Proposal): void {
    const before = this.#state!;
    const [state, effects] = step(before, event);
    this.#state = state;
    this.#stats.transitions++;
    this.#leadership.observe(event, before, state);
    this.#roleLog?.observe(event, state);
    this.#trace?.event(event, state, effects);
    this.#options.onTransition?.(event, state, effects);
    this.#noticeMembership();
    if (proposal !== undefined) this.#place(proposal, before, state);
    if (this.#options.latency !== undefined) markStepped(this.#options.latency, event, before, state);
    this.#execute(effects);
    this.#releaseReceived(event, effects);
    this.#waiters.check();
  }

  /**
   * Tells `onMembershipChange` of configurations other than the last ones told (configurations are immutable),
   * `committed` when one was applied or restored.
   */
  #noticeMembership(committed?: Membership): void {
    const { membership } = status(this.#state!);
    const committedChanged = committed !== undefined && committed !== this.#committedMembership;
    if (membership === this.#membership && !committedChanged) return;
    this.#membership = membership;
    if (committed !== undefined) this.#committedMembership = committed;
    this.#options.onMembershipChange?.({ current: membership, committed: this.#committedMembership! });
  }

  /**
   * A received snapshot that the core has stepped without persisting it (stale, or a copy of one installed)
   * is garbage from now on; only the runtime knows that, so it tells the store (see snapshot-data.ts).
   */
  #releaseReceived(event: Event<C>, effects: readonly Effect<C>[] = []): void {
    if (event.type !== 'receive' || event.message.type !== 'InstallSnapshot') return;
    const { data } = event.message.snapshot;
    if (!isSnapshotRef(data)) return;
    const persisted = effects.some(
      (effect) =>
        effect.type === 'persist' &&
        isSnapshotRef(effect.snapshot?.data) &&
        effect.snapshot.data.name === data.name,
    );
    if (persisted) return;
    this.#options.storage.snapshots.release(data).catch((error: unknown) => {
      console.error(`RaftNode ${this.id}: cannot release snapshot data ${data.name}:`, error);
    });
  }

  /** Contract 7: on a leader the command is now the last entry; anywhere else nothing was appended. */
  #place(proposal: Proposal, before: RaftState<C>, after: RaftState<C>): void {
    const now = status(after);
    if (now.role === 'leader' && now.lastIndex === status(before).lastIndex + 1) {
      this.#proposals.track(proposal, now.lastIndex, now.term);
    } else {
      this.#proposals.reject(proposal, new NotLeaderError(now.leaderId));
    }
  }

  #execute(effects: readonly Effect<C>[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case 'persist':
          this.#persist(effect);
          break;
        case 'send':
          this.#afterPersistsLand(() => this.#send(effect.message));
          break;
        case 'apply':
          this.#afterPersistsLand(() => this.#applied(effect.entries));
          break;
        case 'restore':
          this.#newestRestore = Math.max(this.#newestRestore, effect.snapshot.meta.index);
          this.#afterPersistsLand(() => this.#restore(effect.snapshot));
          break;
        case 'readReady':
          this.#reads.get(effect.id)?.resolve(effect.index);
          this.#reads.delete(effect.id);
          break;
        case 'readFailed':
          this.#reads.get(effect.id)?.reject(new NotLeaderError(effect.leaderId));
          this.#reads.delete(effect.id);
          break;
        case 'setTimer':
          this.#timers.set(effect.timer, effect.delay);
          break;
        case 'cancelTimer':
          this.#timers.cancel(effect.timer);
          break;
      }
    }
  }

  #send(message: Message<C>): void {
    if (this.#options.latency !== undefined) markSent(this.#options.latency, message);
    this.#options.transport.send(message);
  }

  #applied(entries: readonly Entry<C>[]): void {
    if (entries.length > 0 && entries[0]!.index <= this.#appliedBeforeRejoin) {
      entries = entries.filter((entry) => entry.index > this.#applier.appliedIndex);
    }
    // Queued before a newer snapshot that will replace the state (contract 12: nothing at or below a restored
    // snapshot's index is applied after it).
    if (entries.length > 0 && entries[0]!.index <= this.#newestRestore) {
      entries = entries.filter((entry) => entry.index > this.#newestRestore);
    }
    this.#applier.apply(entries);
    const configs = entries.filter((entry) => entry.kind === 'config');
    if (configs.length > 0) this.#noticeMembership(configs[configs.length - 1]!.membership);
    this.#waiters.check();
    this.#maybeSnapshot();
  }

  /** Contract 12: the service takes the snapshot's state, streamed from storage; applies wait for it. */
  async #restore(snapshot: Snapshot): Promise<void> {
    const { index } = snapshot.meta;
    // A newer snapshot was installed while this one waited behind a slow restore: that one replaces it.
    if (index < this.#newestRestore) return;
    // The state machine has all of it already (applied before the node rejoined): taking it would go back.
    if (index <= this.#appliedBeforeRejoin && index <= this.#applier.appliedIndex) return;
    const started = performance.now();
    await this.#applier.restore(index, toAsync(this.#options.storage.snapshots.read(snapshot)));
    this.#stats.snapshots.restoreMs += performance.now() - started;
    this.#proposals.restored(index);
    this.#bytesSinceSnapshot = 0;
    this.#noticeMembership(snapshot.meta.membership);
    const bytes = isSnapshotRef(snapshot.data) ? snapshot.data.bytes : 0;
    const counts = this.#stats.snapshots;
    if (this.#phase === 'starting') {
      counts.restored++;
      counts.restoredBytes += bytes;
    } else {
      counts.installed++;
      counts.installedBytes += bytes;
    }
    this.#waiters.check();
  }

  #persist(effect: Extract<Effect<C>, { type: 'persist' }>): void {
    this.#persistsInFlight++;
    const durable = this.#options.storage.persist(effect);
    const written = this.#options.latency === undefined ? undefined : effect.entries;
    this.#lastPersist = durable.then(
      () => {
        this.#persistsInFlight--;
        this.#stats.persists++;
        if (written !== undefined && written.length > 0) {
          this.#options.latency?.markRange('persisted', written[0]!.index, written.at(-1)!.index);
        }
      },
      (error: unknown) => this.#storageFailed(asError(error)),
    );
  }

  /**
   * Runs `effect` once every persist handed out before it is durable, after every effect already waiting; an
   * effect that returns a promise (a restore) holds back every effect after it until it settles.
   */
  #afterPersistsLand(effect: () => void | Promise<void>): void {
    if (this.#persistsInFlight === 0 && this.#waiting === 0) {
      const running = effect();
      if (running === undefined) return;
      this.#waiting++;
      this.#afterPersists = running
        .then(() => {
          this.#waiting--;
        })
        .catch((error: unknown) => this.#fail(asError(error)));
      return;
    }
    this.#waiting++;
    const barrier = this.#lastPersist;
    this.#afterPersists = this.#afterPersists
      .then(() => barrier)
      .then(() => {
        const running =
          this.#phase === 'running' || this.#phase === 'stopping' || this.#phase === 'starting'
            ? effect()
            : undefined;
        // An effect still running (a restore) still holds back the effects after it, those that come later
        // and would take the fast path included.
        if (running === undefined) this.#waiting--;
        else
          return running.then(() => {
            this.#waiting--;
          });
      })
      .catch((error: unknown) => this.#fail(asError(error)));
  }

  /** Resolves once every persist handed out is durable and every effect waiting for one has run. */
  async #settled(): Promise<void> {
    await this.#lastPersist;
    await this.#afterPersists;
  }

  /** A persist failed: step aside and retry, if storage can reopen; else fail (see this file's header). */
  #storageFailed(error: Error): void {
    // The persists queued behind the one that failed fail too: the node stepped aside already.
    if (this.#phase === 'unavailable') return;
    if (this.#options.storage.reopen === undefined || this.#phase !== 'running') {
      this.#fail(error);
      return;
    }
    this.#phase = 'unavailable';
    this.#unavailable = new StorageUnavailableError(error);
    this.#reportStorage(error);
    this.#timers.clear();
    this.#dropQueue();
    this.#rejectRequests(this.#unavailable);
    // A replay could not follow the core's fresh start: the trace ends here.
    void this.#trace?.close().catch(() => {});
    this.#trace = undefined;
    this.#scheduleReopen(this.#options.reopenBackoffMs?.[0] ?? 100);
  }

  #scheduleReopen(delay: number): void {
    this.#cancelReopen = this.#clock.schedule(delay, () => void this.#reopen(delay));
  }

  async #reopen(delay: number): Promise<void> {
    // What waits on the failed persists settles first (it is skipped now): nothing of the old core runs after.
    await this.#lastPersist;
    await this.#afterPersists;
    if (this.#phase !== 'unavailable') return;
    let durable: Durable<C>;
    try {
      durable = await this.#options.storage.reopen!();
    } catch (error) {
      if (this.#phase !== 'unavailable') return;
      // Damage found on the way back is not a full disk: it needs a person (see the README).
      if (error instanceof StorageCorruptionError) return this.#fail(error);
      if (asError(error).message !== this.#unavailable?.cause.message) this.#reportStorage(asError(error));
      const max = this.#options.reopenBackoffMs?.[1] ?? 5_000;
      this.#scheduleReopen(Math.min(2 * delay, max));
      return;
    }
    if (this.#phase !== 'unavailable') return;
    this.#rejoin(durable);
  }

  /** Starts the core afresh from what is durable, as a restart would, with the state machine as it is. */
  #rejoin(durable: Durable<C>): void {
    const [state, effects] = init<C>(this.#options.config, durable);
    this.#state = state;
    this.#persistsInFlight = 0;
    this.#appliedBeforeRejoin = this.#applier.appliedIndex;
    this.#newestRestore = 0;
    this.#unavailable = null;
    this.#phase = 'running';
    this.#reportStorage(null);
    this.#roleLog?.observe(undefined, state);
    this.#options.onTransition?.(undefined, state, effects);
    this.#noticeMembership();
    // A snapshot that reached the old core and was lost with it must not look stored and being restored to its
    // sender (which then holds back its copies for a long while): peers see a restart.
    this.#options.transport.reconnect?.();
    this.#execute(effects);
    this.#kick();
  }

  #reportStorage(error: Error | null): void {
    const report =
      this.#options.onStorageUnavailable ??
      ((e: Error | null) =>
        console.error(
          e === null
            ? `RaftNode ${this.id}: storage takes writes again; rejoining the cluster`
            : `RaftNode ${this.id}: storage failed (${e.message}); taking no part and refusing requests until it takes writes again`,
        ));
    report(error);
  }

  /** A failed write or a throwing state machine: continuing could break a promise made to peers or clients. */
  #fail(error: Error): void {
    // While starting, `start` reports it (a snapshot that cannot be restored must not leave an empty service).
    if (this.#phase === 'starting') this.#startFailure ??= error;
    if (this.#phase !== 'running' && this.#phase !== 'stopping' && this.#phase !== 'unavailable') return;
    this.#phase = 'failed';
    this.#cancelReopen();
    void this.#release().finally(() =>
      (this.#options.onFatal ?? ((e) => console.error(`RaftNode ${this.id} failed:`, e)))(error),
    );
  }

  /** Forgets the events not yet stepped, releasing the snapshot data they hold. */
  #dropQueue(): void {
    for (const { event } of this.#queue.splice(0)) this.#releaseReceived(event);
  }

  /** Answers every proposal, read and wait in progress with `error`. */
  #rejectRequests(error: Error): void {
    this.#proposals.rejectAll(error);
    this.#waiters.rejectAll(error);
    for (const read of this.#reads.values()) read.reject(error);
    this.#reads.clear();
  }

  async #release(): Promise<void> {
    this.#timers.clear();
    this.#dropQueue();
    this.#rejectRequests(new NodeStoppedError(`node ${this.id} stopped`));
    const { transport, storage } = this.#options;
    const results = await Promise.allSettled([transport.stop(), storage.close(), this.#trace?.close()]);
    const failure = results.find((result) => result.status === 'rejected');
    if (failure !== undefined && this.#phase !== 'failed') throw failure.reason;
  }
}

/** Latency marks (latency.ts) of a message that arrived: entries on a follower, acknowledgements on a leader. */
function markReceived<C>(latency: LatencyRecorder, message: Message<C>): void {
  if (message.type === 'AppendEntries' && message.entries.length > 0) {
    latency.markRange('received', message.entries[0]!.index, message.entries.at(-1)!.index, message.from);
  } else if (message.type === 'AppendEntriesResponse' && message.success) {
    latency.markThrough('ackReceived', message.index, message.from);
  }
}

/** Latency marks of a message handed to the transport: entries from a leader, acknowledgements from a follower. */
function markSent<C>(latency: LatencyRecorder, message: Message<C>): void {
  if (message.type === 'AppendEntries' && message.entries.length > 0) {
    latency.markRange('sent', message.entries[0]!.index, message.entries.at(-1)!.index, message.to);
  } else if (message.type === 'AppendEntriesResponse' && message.success) {
    latency.markThrough('acked', message.index, message.to);
  }
}

/** Latency marks of a transition on a leader: a proposal that got its index, a commit index that moved. */
function markStepped<C>(
  latency: LatencyRecorder,
  event: Event<C>,
  before: RaftState<C>,
  after: RaftState<C>,
): void {
  const [was, now] = [status(before), status(after)];
  if (now.role !== 'leader') return;
  if (event.type === 'propose' && now.lastIndex > was.lastIndex) latency.mark('proposed', now.lastIndex);
  if (now.commitIndex > was.commitIndex && was.role === 'leader') {
    latency.markRange('committed', was.commitIndex + 1, now.commitIndex);
  }
}

function sameMembership(a: Membership, b: Membership): boolean {
  const same = (x: readonly NodeId[], y: readonly NodeId[]) =>
    x.length === y.length && x.every((id) => y.includes(id));
  return a.outgoing === undefined && same(a.voters, b.voters) && same(a.learners, b.learners);
}

async function* toAsync(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncIterable<Uint8Array> {
  yield* chunks;
}

/** What was thrown, as an Error. */
function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
