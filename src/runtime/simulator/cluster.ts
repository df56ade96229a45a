/**
 * The mechanics of a simulated cluster, with no policy: nodes running the real reducer through the contract,
 * durable state rebuilt only from executed `persist` effects, armed timers, messages in flight, links that
 * can be cut, crashes (also part-way through a transition's effects) and restarts through `init`.
 *
 * Who decides what happens next is the caller's business: `Simulator` drives it with a virtual clock and
 * seeded faults; the property tests drive it with histories that fast-check generates and shrinks.
 * No Node-only API is used here, so the same code runs in a browser.
 */
import {
  type Config,
  type Durable,
  type Effect,
  type Entry,
  type Event,
  init,
  type Message,
  type NodeId,
  type RaftState,
  type Snapshot,
  step,
  type Transition,
} from '../../core/index.js';
import { DurableLog } from '../../effects/storage/storage.js';
import { MinHeap } from './heap.js';

export class SafetyViolation extends Error {
  override readonly name = 'SafetyViolation';
}

export interface SimNode<C> {
  readonly id: NodeId;
  /** null while crashed. */
  state: RaftState<C> | null;
  readonly durable: DurableLog<C>;
  /** Armed timers: name -> virtual time at which it fires. */
  readonly timers: Map<string, number>;
  /** Starts at 1; every restart is a new incarnation. */
  incarnation: number;
  /** Last index applied in this incarnation. */
  appliedIndex: number;
}

export interface Envelope<C> {
  readonly seq: number;
  readonly message: Message<C>;
  readonly sentAt: number;
  readonly deliverAt: number;
}

export interface ClusterObserver<C> {
  /**
   * After every transition, with the effects that were executed. `cutShort`: the node crashes right after,
   * having executed only those of the effects produced, so `after` is never seen beyond them.
   */
  transition?(
    node: SimNode<C>,
    event: Event<C>,
    before: RaftState<C>,
    after: RaftState<C>,
    effects: readonly Effect<C>[],
    cutShort: boolean,
  ): void;
  applied?(node: SimNode<C>, entries: readonly Entry<C>[]): void;
  /** The node's service replaced its state with the snapshot's (contract 12). */
  restored?(node: SimNode<C>, snapshot: Snapshot): void;
  /** A read was answered: ready once the node has applied through `index`, or failed. */
  read?(node: SimNode<C>, effect: ReadAnswer): void;
  sent?(envelope: Envelope<C>): void;
  crashed?(node: SimNode<C>): void;
  /** A new incarnation started, with `init`'s effects (already executed). */
  restarted?(node: SimNode<C>, effects: readonly Effect<C>[]): void;
}

export type ReadAnswer = Extract<Effect<unknown>, { type: 'readReady' | 'readFailed' }>;

/** The reducer under test: the real core by default; tests substitute deliberately broken ones. */
export interface Reducer<C> {
  readonly init: (config: Config, durable?: Durable<C>) => Transition<C>;
  readonly step: (state: RaftState<C>, event: Event<C>) => Transition<C>;
}

export interface ClusterOptions<C> {
  /** The nodes at the start; more can join with `addNode`. */
  readonly ids: readonly NodeId[];
  readonly reducer?: Reducer<C>;
  /** The config of a node in an incarnation (seed it per incarnation so timeouts differ across restarts). */
  readonly config: (id: NodeId, incarnation: number) => Config;
  /** Delivery delays for a message just sent: [] loses it, more than one duplicates it. Default: [1]. */
  readonly delays?: (message: Message<C>) => readonly number[];
  /** Size of a message on the wire, for the byte counters. Default: its JSON text's length. */
  readonly messageSize?: (message: Message<C>) => number;
  readonly observer?: ClusterObserver<C>;
  /**
   * A crash leaves messages in flight alone: what the node sent before crashing has already left it (so a
   * crash part-way through a transition cannot take back a vote or an acknowledgement), and a message to it
   * is lost only if it arrives while the node is down. Default false: a crash loses every message to and
   * from the node.
   */
  readonly crashKeepsInFlight?: boolean;
}

export interface ClusterStats {
  /** Messages sent, by type and in all (including those then lost). */
  messages: number;
  bytes: number;
  byType: Record<string, number>;
  delivered: number;
  proposals: number;
}

/** The order messages arrive in: by delivery time, then in the order they were sent. */
function arrivalOrder<C>(a: Envelope<C>, b: Envelope<C>): number {
  return a.deliverAt - b.deliverAt || a.seq - b.seq;
}

const linkKey = (from: NodeId, to: NodeId): string => `${from}\u0000${to}`;

export class Cluster<C> {
  readonly nodes = new Map<NodeId, SimNode<C>>();
  readonly stats: ClusterStats = { messages: 0, bytes: 0, byType: {}, delivered: 0, proposals: 0 };
  /** Virtual time. Only the driver moves it. */
  now = 0;
  readonly #inFlight = new MinHeap<Envelope<C>>((a, b) => arrivalOrder(a, b) < 0);
  readonly #cutLinks = new Set<string>();
  /** State machine safety: the entry applied at each index by whichever node applied it first. */
  readonly #appliedAt: Entry<C>[] = [];
  #seq = 0;
  readonly #reducer: Reducer<C>;

  readonly #ids: NodeId[];

  constructor(private readonly options: ClusterOptions<C>) {
    this.#reducer = options.reducer ?? { init, step };
    this.#ids = [];
    for (const id of options.ids) this.#create(id);
    for (const id of options.ids) this.restart(id);
  }

  get ids(): readonly NodeId[] {
    return this.#ids;
  }

  #create(id: NodeId): void {
    if (this.nodes.has(id)) throw new RangeError(`node ${id} exists already`);
    this.#ids.push(id);
    this.nodes.set(id, {
      id,
      state: null,
      durable: new DurableLog<C>(),
      timers: new Map(),
      incarnation: 0,
      appliedIndex: 0,
    });
  }

  /**
   * Starts a new, empty node (a machine joining the cluster): its config comes from `options.config`, which
   * gives it the cluster's current voters (contract: it never campaigns until it learns a configuration in
   * which it votes). It takes part once a membership change names it.
   */
  addNode(id: NodeId): void {
    this.#create(id);
    this.restart(id);
  }

  node(id: NodeId): SimNode<C> {
    const node = this.nodes.get(id);
    if (node === undefined) throw new RangeError(`no node ${id}`);
    return node;
  }

  /** Live nodes' states. */
  states(): RaftState<C>[] {
    return [...this.nodes.values()].flatMap((node) => (node.state === null ? [] : [node.state]));
  }

  /** Every entry some node applied, by index (index 0 unused). */
  get appliedLog(): readonly Entry<C>[] {
    return this.#appliedAt;
  }

  /** Messages in flight, in the order they will arrive. */
  get inFlight(): readonly Envelope<C>[] {
    return [...this.#inFlight.toArray()].sort(arrivalOrder);
  }

  /** The message in flight that arrives first. O(1). */
  nextToArrive(): Envelope<C> | undefined {
    return this.#inFlight.peek();
  }

  // ---- links -------------------------------------------------------------------------------------------

  canReach(from: NodeId, to: NodeId): boolean {
    return !this.#cutLinks.has(linkKey(from, to));
  }

  setLink(from: NodeId, to: NodeId, up: boolean): void {
    if (up) this.#cutLinks.delete(linkKey(from, to));
    else this.#cutLinks.add(linkKey(from, to));
  }

  /** Cuts (or restores) every link to and from `id`, as the lab's disconnect(i) does. */
  setConnected(id: NodeId, up: boolean): void {
    for (const other of this.ids) {
      if (other === id) continue;
      this.setLink(id, other, up);
      this.setLink(other, id, up);
    }
  }

  /** Only nodes in the same group can talk. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    const groupOf = new Map<NodeId, number>();
    groups.forEach((group, index) => {
      for (const id of group) groupOf.set(id, index);
    });
    for (const a of this.ids)
      for (const b of this.ids) if (a !== b) this.setLink(a, b, groupOf.get(a) === groupOf.get(b));
  }

  heal(): void {
    this.#cutLinks.clear();
  }

  // ---- events ------------------------------------------------------------------------------------------

  /**
   * Feeds one event to a live node and executes its effects in order. With `crashAfter`, only the first
   * `crashAfter` effects run and then the node crashes: a crash in the middle of a transition.
   * Returns the effects executed, or null when the node is down.
   */
  step(id: NodeId, event: Event<C>, crashAfter?: number): readonly Effect<C>[] | null {
    const node = this.node(id);
    if (node.state === null) return null;
    const before = node.state;
    const [after, effects] = this.#reducer.step(before, event);
    const executed = crashAfter === undefined ? effects : effects.slice(0, crashAfter);
    const cutShort = crashAfter !== undefined && crashAfter < effects.length;
    node.state = after;
    this.execute(node, executed);
    this.options.observer?.transition?.(node, event, before, after, executed, cutShort);
    if (cutShort) this.crash(id);
    return executed;
  }

  propose(id: NodeId, command: C, crashAfter?: number): readonly Effect<C>[] | null {
    this.stats.proposals++;
    return this.step(id, { type: 'propose', command }, crashAfter);
  }

  /**
   * The node's service captured its state (`data`) through `index`, by default everything it applied
   * (contract 10).
   */
  snapshot(id: NodeId, data: unknown, index?: number, crashAfter?: number): readonly Effect<C>[] | null {
    const node = this.node(id);
    return this.step(id, { type: 'snapshot', index: index ?? node.appliedIndex, data }, crashAfter);
  }

  /** Fires an armed timer now, whatever its due time. Returns false when it is not armed. */
  fire(id: NodeId, timer: string, crashAfter?: number): boolean {
    const node = this.node(id);
    if (node.state === null || !node.timers.delete(timer)) return false;
    this.step(id, { type: 'timeout', timer }, crashAfter);
    return true;
  }

  /** Delivers one in-flight message (dropping it if its link is cut or its target is down). */
  deliver(envelope: Envelope<C>, crashAfter?: number): boolean {
    this.#inFlight.removeWhere((item) => item === envelope);
    return this.#receive(envelope, crashAfter);
  }

  /** Drops one in-flight message. */
  drop(envelope: Envelope<C>): void {
    this.#inFlight.removeWhere((item) => item === envelope);
  }

  /** Sends a copy of an in-flight message again, due at `deliverAt`. */
  duplicate(envelope: Envelope<C>, deliverAt = envelope.deliverAt): void {
    this.#inFlight.push({ ...envelope, seq: this.#seq++, deliverAt });
  }

  #receive(envelope: Envelope<C>, crashAfter?: number): boolean {
    const { message } = envelope;
    const target = this.nodes.get(message.to);
    if (target?.state == null || !this.canReach(message.from, message.to)) return false;
    this.stats.delivered++;
    this.step(message.to, { type: 'receive', message }, crashAfter);
    return true;
  }

  /** The time of the next timer or delivery, or undefined when nothing is pending. */
  nextDue(): number | undefined {
    let due = this.#inFlight.peek()?.deliverAt;
    for (const node of this.nodes.values())
      for (const at of node.timers.values()) if (due === undefined || at < due) due = at;
    return due;
  }

  /**
   * Runs everything due up to `until` in time order (timers before messages at the same instant, then by
   * node order and sequence), then sets the clock to `until`. Bounded by `maxEvents` against livelock.
   */
  runUntil(until: number, maxEvents = 10_000_000): void {
    for (let events = 0; events < maxEvents; events++) {
      const due = this.nextDue();
      if (due === undefined || due > until) break;
      this.now = Math.max(this.now, due);
      if (!this.#fireOneTimerDue()) {
        const envelope = this.#inFlight.pop()!;
        this.#receive(envelope);
      }
    }
    this.now = Math.max(this.now, until);
  }

  #fireOneTimerDue(): boolean {
    for (const node of this.nodes.values()) {
      for (const [timer, at] of node.timers) {
        if (at <= this.now) return this.fire(node.id, timer);
      }
    }
    return false;
  }

  // ---- crash and restart -------------------------------------------------------------------------------

  /** Volatile state, timers and the node's messages in flight are gone; what was persisted stays. */
  crash(id: NodeId): void {
    const node = this.node(id);
    if (node.state === null) return;
    node.state = null;
    node.timers.clear();
    if (!this.options.crashKeepsInFlight) {
      this.#inFlight.removeWhere((envelope) => envelope.message.to === id || envelope.message.from === id);
    }
    this.options.observer?.crashed?.(node);
  }

  /** Starts a new incarnation from the durable state (a live node is crashed first). */
  restart(id: NodeId): void {
    const node = this.node(id);
    this.crash(id);
    node.incarnation++;
    node.appliedIndex = 0;
    const [state, effects] = this.#reducer.init(
      this.options.config(id, node.incarnation),
      node.durable.snapshot(),
    );
    node.state = state;
    this.execute(node, effects);
    this.options.observer?.restarted?.(node, effects);
  }

  // ---- effects -----------------------------------------------------------------------------------------

  private execute(node: SimNode<C>, effects: readonly Effect<C>[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case 'setTimer':
          node.timers.set(effect.timer, this.now + effect.delay);
          break;
        case 'cancelTimer':
          node.timers.delete(effect.timer);
          break;
        case 'persist':
          node.durable.apply(effect);
          break;
        case 'send':
          this.#send(effect.message);
          break;
        case 'apply':
          this.#apply(node, effect.entries);
          break;
        case 'restore':
          this.#restore(node, effect.snapshot);
          break;
        case 'readReady':
        case 'readFailed':
          this.options.observer?.read?.(node, effect);
          break;
      }
    }
  }

  /** Contract 12: a restore never takes the service back within an incarnation; applies go on after it. */
  #restore(node: SimNode<C>, snapshot: Snapshot): void {
    const { index } = snapshot.meta;
    if (index < node.appliedIndex) {
      throw new SafetyViolation(
        `${node.id} restored a snapshot at ${index} after applying ${node.appliedIndex}`,
      );
    }
    node.appliedIndex = index;
    this.options.observer?.restored?.(node, snapshot);
  }

  #send(message: Message<C>): void {
    this.stats.messages++;
    this.stats.bytes += this.options.messageSize?.(message) ?? JSON.stringify(message).length;
    this.stats.byType[message.type] = (this.stats.byType[message.type] ?? 0) + 1;
    if (!this.canReach(message.from, message.to)) return;
    for (const delay of this.options.delays?.(message) ?? [1]) {
      const envelope: Envelope<C> = {
        seq: this.#seq++,
        message,
        sentAt: this.now,
        deliverAt: this.now + delay,
      };
      this.#inFlight.push(envelope);
      this.options.observer?.sent?.(envelope);
    }
  }

  /** Contract 4 and state machine safety, checked on every apply: in order, no gaps, same entry everywhere. */
  #apply(node: SimNode<C>, entries: readonly Entry<C>[]): void {
    for (const entry of entries) {
      if (entry.index !== node.appliedIndex + 1) {
        throw new SafetyViolation(`${node.id} applied index ${entry.index} after ${node.appliedIndex}`);
      }
      const first = this.#appliedAt[entry.index];
      if (first === undefined) this.#appliedAt[entry.index] = entry;
      else if (first.term !== entry.term || JSON.stringify(first) !== JSON.stringify(entry)) {
        throw new SafetyViolation(
          `state machine safety: ${node.id} applied ${JSON.stringify(entry)} at ${entry.index}, another node applied ${JSON.stringify(first)}`,
        );
      }
      node.appliedIndex = entry.index;
    }
    this.options.observer?.applied?.(node, entries);
  }
}
