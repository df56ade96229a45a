/**
 * A deterministic cluster simulator: the real reducer on a virtual clock, over a network with seeded faults.
 * One seed drives everything random, so a seed reproduces a run exactly; a run of minutes of virtual time
 * takes milliseconds of wall time, since nothing ever waits.
 */
import type { Config, Entry, Message, NodeId } from '../../core/index.js';
import { Cluster, type ClusterObserver, type ClusterStats, type Reducer, type SimNode } from './cluster.js';
import { Random } from './random.js';

export interface Faults {
  /** Probability that a message is lost. */
  readonly loss: number;
  /** Probability that a message is delivered twice. */
  readonly duplicate: number;
  /** Ordinary one-way delay, uniform in [min, max) virtual ms: overlapping delays reorder messages. */
  readonly delay: readonly [min: number, max: number];
  /** Probability that a response is held back for a long time (the lab's "long reordering"). */
  readonly longDelay: number;
  readonly longDelayRange: readonly [min: number, max: number];
}

/** A LAN: no loss, small delays. */
export const RELIABLE: Faults = {
  loss: 0,
  duplicate: 0,
  delay: [1, 5],
  longDelay: 0,
  longDelayRange: [0, 0],
};
/** As the lab's unreliable network: 10% loss, delays up to 27 ms. */
export const UNRELIABLE: Faults = {
  loss: 0.1,
  duplicate: 0.02,
  delay: [1, 27],
  longDelay: 0,
  longDelayRange: [0, 0],
};
/** Unreliable, and replies held back for up to 2.2 s (the lab's long reordering). */
export const LONG_REORDERING: Faults = { ...UNRELIABLE, longDelay: 0.66, longDelayRange: [200, 2200] };

export interface SimulatorOptions<C> {
  /** Node ids, or a count (ids "n1".."nN"). */
  readonly nodes: number | readonly NodeId[];
  readonly seed: number;
  readonly electionTimeout?: readonly [number, number];
  readonly heartbeatInterval?: number;
  readonly faults?: Faults;
  /** Extra config fields for every node (flow-control limits, ...). */
  readonly config?: Partial<Config>;
  readonly observer?: ClusterObserver<C>;
  /** The reducer under test (default: the real core). */
  readonly reducer?: Reducer<C>;
  readonly messageSize?: (message: Message<C>) => number;
}

export class Simulator<C> {
  readonly cluster: Cluster<C>;
  readonly random: Random;
  faults: Faults;

  constructor(readonly options: SimulatorOptions<C>) {
    this.random = new Random(options.seed);
    this.faults = options.faults ?? RELIABLE;
    const ids =
      typeof options.nodes === 'number'
        ? Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`)
        : [...options.nodes];
    const seeds = this.random.fork();
    const nodeSeed = new Map(ids.map((id) => [id, seeds.int(0, 2 ** 31)]));
    const seedOf = (id: NodeId): number => {
      // A node that joins later draws its seed when it first starts, from the same seeded stream.
      if (!nodeSeed.has(id)) nodeSeed.set(id, seeds.int(0, 2 ** 31));
      return nodeSeed.get(id)!;
    };
    this.cluster = new Cluster<C>({
      ids,
      config: (id, incarnation) => ({
        id,
        voters: ids,
        electionTimeout: options.electionTimeout ?? [300, 600],
        heartbeatInterval: options.heartbeatInterval ?? 100,
        seed: (seedOf(id) + incarnation * 7919) >>> 0,
        ...options.config,
      }),
      delays: (message) => this.#delays(message),
      ...(options.messageSize && { messageSize: options.messageSize }),
      ...(options.observer && { observer: options.observer }),
      ...(options.reducer && { reducer: options.reducer }),
    });
  }

  get seed(): number {
    return this.options.seed;
  }

  get ids(): readonly NodeId[] {
    return this.cluster.ids;
  }

  get now(): number {
    return this.cluster.now;
  }

  get stats(): ClusterStats {
    return this.cluster.stats;
  }

  node(id: NodeId): SimNode<C> {
    return this.cluster.node(id);
  }

  #delays(message: Message<C>): number[] {
    const { loss, duplicate, delay, longDelay, longDelayRange } = this.faults;
    if (this.random.chance(loss)) return [];
    const one = (): number =>
      message.type.endsWith('Response') && this.random.chance(longDelay)
        ? this.random.int(longDelayRange[0], longDelayRange[1])
        : this.random.int(delay[0], delay[1]);
    return this.random.chance(duplicate) ? [one(), one()] : [one()];
  }

  /** Advances virtual time by `ms`, running everything due. */
  runFor(ms: number): void {
    this.cluster.runUntil(this.cluster.now + ms);
  }

  /** Runs until `done()` holds (checked every `tick` ms) or `timeoutMs` passes; returns whether it held. */
  runUntil(done: () => boolean, timeoutMs: number, tick = 10): boolean {
    const deadline = this.cluster.now + timeoutMs;
    while (!done()) {
      if (this.cluster.now >= deadline) return false;
      this.cluster.runUntil(Math.min(deadline, this.cluster.now + tick));
    }
    return true;
  }

  disconnect(id: NodeId): void {
    this.cluster.setConnected(id, false);
  }

  connect(id: NodeId): void {
    this.cluster.setConnected(id, true);
  }

  crash(id: NodeId): void {
    this.cluster.crash(id);
  }

  /** Starts a new, empty node that can then be added to the cluster by a membership change. */
  addNode(id: NodeId): void {
    this.cluster.addNode(id);
  }

  restart(id: NodeId): void {
    this.cluster.restart(id);
  }

  /**
   * Proposes on `id` if it is a live leader. Returns where the command will sit if it commits, else null
   * (contract 7: a non-leader creates no entry).
   */
  propose(id: NodeId, command: C): { index: number; term: number } | null {
    const node = this.cluster.node(id);
    if (node.state === null || node.state.role !== 'leader') return null;
    this.cluster.propose(id, command);
    const state = this.cluster.node(id).state;
    return state === null ? null : { index: state.log.lastIndex, term: state.term };
  }

  /** Entries applied by some node, by index (index 0 unused). */
  get applied(): readonly Entry<C>[] {
    return this.cluster.appliedLog;
  }
}
