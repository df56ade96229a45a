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
 */
import {
  type Config,
  type Effect,
  type Event,
  init,
  type RaftState,
  type Status,
  status,
  step,
} from '../../core/index.js';
import { Applier, type StateMachine } from '../../effects/apply/index.js';
import type { Storage } from '../../effects/storage/index.js';
import { type Clock, realClock, Timers } from '../../effects/timers/index.js';
import type { Transport } from '../../effects/transport/index.js';
import {
  NodeStoppedError,
  NotLeaderError,
  OverloadedError,
  ProposalLostError,
  ProposalTimeoutError,
} from './errors.js';
import { type Proposal, ProposalBook } from './proposals.js';
import { TraceWriter } from './trace.js';

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
}

export interface NodeStatus extends Status {
  /** Last index applied to the state machine in this incarnation. */
  readonly appliedIndex: number;
}

export interface RaftNodeStats {
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
}

type ProposeEvent<C> = Extract<Event<C>, { type: 'propose' }>;
type Queued<C> =
  | { readonly event: Exclude<Event<C>, ProposeEvent<C>>; readonly proposal?: undefined }
  | { readonly event: ProposeEvent<C>; readonly proposal: Proposal };

type Phase = 'new' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** Most persists handed to storage and not yet durable before the node stops stepping to let them land. */
const MAX_PERSISTS_IN_FLIGHT = 1024;

export class RaftNode<C, R> {
  readonly #options: RaftNodeOptions<C, R>;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #applier: Applier<C, R>;
  readonly #proposals: ProposalBook<R>;
  readonly #queue: Queued<C>[] = [];
  #phase: Phase = 'new';
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
  readonly #stats = {
    transitions: 0,
    persists: 0,
    staleTimeouts: 0,
    proposals: { committed: 0, notLeader: 0, overloaded: 0, lost: 0, timedOut: 0 },
  };

  constructor(options: RaftNodeOptions<C, R>) {
    this.#options = options;
    this.#clock = options.clock ?? realClock;
    this.#timers = new Timers(this.#clock, (timer) => this.#enqueue({ event: { type: 'timeout', timer } }));
    this.#applier = new Applier(options.stateMachine, ({ entry, result }) =>
      this.#proposals.applied(entry.index, entry.term, result),
    );
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
    return { ...this.#stats, proposals: { ...this.#stats.proposals } };
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
  async start(): Promise<void> {
    if (this.#phase !== 'new') throw new Error(`RaftNode ${this.id}: start called when ${this.#phase}`);
    this.#phase = 'starting';
    const { config, storage, transport, tracePath } = this.#options;
    try {
      const durable = await storage.load();
      const [state, effects] = init<C>(config, durable);
      if (tracePath !== undefined) {
        this.#trace = await TraceWriter.create<C>(tracePath);
        this.#trace.start(config, durable, [state, effects]);
      }
      this.#state = state;
      this.#options.onTransition?.(undefined, state, effects);
      this.#execute(effects);
      await this.#settled();
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
    if (this.#phase !== 'running') return;
    this.#phase = 'stopping';
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
    return { ...status(this.#state), appliedIndex: this.#applier.appliedIndex };
  }

  /**
   * Replicates `command` and resolves with the state machine's result once it is applied on this node. Rejects
   * at once with `NotLeaderError` on a non-leader and `OverloadedError` when too many proposals are pending;
   * later with `ProposalLostError` if leadership changed and another entry took its place, or
   * `ProposalTimeoutError`.
   */
  propose(command: C): Promise<R> {
    if (this.#phase !== 'running' || this.#state === undefined) return Promise.reject(new NodeStoppedError());
    const { role, leaderId } = status(this.#state);
    if (role !== 'leader') {
      this.#stats.proposals.notLeader++;
      return Promise.reject(new NotLeaderError(leaderId));
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
    const before = this.#state!;
    const [state, effects] = step(before, event);
    this.#state = state;
    this.#stats.transitions++;
    this.#trace?.event(event, state, effects);
    this.#options.onTransition?.(event, state, effects);
    if (proposal !== undefined) this.#place(proposal, before, state);
    this.#execute(effects);
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
          this.#afterPersistsLand(() => this.#options.transport.send(effect.message));
          break;
        case 'apply':
          this.#afterPersistsLand(() => this.#applier.apply(effect.entries));
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

  #persist(effect: Extract<Effect<C>, { type: 'persist' }>): void {
    this.#persistsInFlight++;
    const durable = this.#options.storage.persist(effect);
    this.#lastPersist = durable.then(
      () => {
        this.#persistsInFlight--;
        this.#stats.persists++;
      },
      (error: unknown) => this.#fail(asError(error)),
    );
  }

  /** Runs `effect` once every persist handed out before it is durable, after every effect already waiting. */
  #afterPersistsLand(effect: () => void): void {
    if (this.#persistsInFlight === 0 && this.#waiting === 0) return effect();
    this.#waiting++;
    const barrier = this.#lastPersist;
    this.#afterPersists = this.#afterPersists
      .then(() => barrier)
      .then(() => {
        this.#waiting--;
        if (this.#phase === 'running' || this.#phase === 'stopping' || this.#phase === 'starting') effect();
      })
      .catch((error: unknown) => this.#fail(asError(error)));
  }

  /** Resolves once every persist handed out is durable and every effect waiting for one has run. */
  async #settled(): Promise<void> {
    await this.#lastPersist;
    await this.#afterPersists;
  }

  /** A failed write or a throwing state machine: continuing could break a promise made to peers or clients. */
  #fail(error: Error): void {
    if (this.#phase !== 'running' && this.#phase !== 'stopping') return;
    this.#phase = 'failed';
    void this.#release().finally(() =>
      (this.#options.onFatal ?? ((e) => console.error(`RaftNode ${this.id} failed:`, e)))(error),
    );
  }

  async #release(): Promise<void> {
    this.#timers.clear();
    this.#queue.length = 0;
    this.#proposals.rejectAll(new NodeStoppedError(`node ${this.id} stopped`));
    const { transport, storage } = this.#options;
    const results = await Promise.allSettled([transport.stop(), storage.close(), this.#trace?.close()]);
    const failure = results.find((result) => result.status === 'rejected');
    if (failure !== undefined && this.#phase !== 'failed') throw failure.reason;
  }
}

/** What was thrown, as an Error. */
function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
