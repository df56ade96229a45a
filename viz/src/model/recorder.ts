/**
 * Records what a simulated cluster does, as it does it: a cluster observer that writes every transition,
 * crash and restart into a Recording, with each node's state and timers after it, and every message's flight
 * from its `send` to its `receive` (or to where it was lost, dropped or duplicated).
 */
import type { Effect, Event, Message, RaftState } from '../../../src/core/index.js';
import type { ClusterObserver, Envelope, SimNode } from '../../../src/runtime/simulator/index.js';
import type { AxisKind, Flight, Recording, TimerView } from './recording.js';
import { nextTimers, noTimers } from './timers.js';

export interface RecorderOptions {
  /** The cluster's virtual time. */
  readonly clock: () => number;
  /**
   * 'time': a flight ends when the simulator scheduled it to arrive. 'events': only when it is seen to arrive
   * (`receive`) or to be gone (`reconcile`), since a history delivers and drops messages in any order.
   */
  readonly axis: AxisKind;
  /** Whether a crash loses the node's messages in flight (the cluster's `crashKeepsInFlight`, negated). */
  readonly crashLosesInFlight: boolean;
  /** How long a lost message is drawn, fading, before it vanishes (axis units). */
  readonly lostSpan: number;
}

/** Prune delivered and dropped flights from the in-air tables this often (sends). */
const PRUNE_EVERY = 1024;

export class Recorder<C> implements ClusterObserver<C> {
  /** Messages that left during the transition being executed: a `send` effect without one was lost. */
  readonly #leftNow = new Set<Message<C>>();
  readonly #inAir = new Map<Envelope<C>, Flight<C>>();
  /** The same flights, by message, to find the one a `receive` ends (duplicates share a message). */
  readonly #byMessage = new Map<Message<C>, Envelope<C>[]>();
  readonly #timers = new Map<string, readonly TimerView[]>();
  #sends = 0;

  constructor(
    readonly recording: Recording<C>,
    readonly options: RecorderOptions,
  ) {}

  /** The axis position of the event about to be recorded. */
  #position(): number {
    return this.options.axis === 'time' ? this.options.clock() : this.recording.length;
  }

  sent(envelope: Envelope<C>): void {
    const end = this.options.axis === 'time' ? envelope.deliverAt : Number.POSITIVE_INFINITY;
    // The sending transition is recorded right after its effects ran, so it gets the next event number.
    this.#track(
      envelope,
      this.recording.send(envelope.message, this.#position(), end, this.recording.length),
    );
    this.#leftNow.add(envelope.message);
    if (++this.#sends % PRUNE_EVERY === 0) this.#prune();
  }

  transition(
    node: SimNode<C>,
    event: Event<C>,
    before: RaftState<C>,
    after: RaftState<C>,
    effects: readonly Effect<C>[],
  ): void {
    const at = this.#position();
    const time = this.options.clock();
    const index = this.recording.add({ kind: 'step', node: node.id, event, effects, time, at });
    for (const effect of effects) {
      if (effect.type === 'send' && !this.#leftNow.has(effect.message)) {
        this.recording.send(effect.message, at, at + this.options.lostSpan, index, 'lost');
      }
    }
    this.#leftNow.clear();
    if (event.type === 'receive') this.#received(event.message, at, index);
    const fired = event.type === 'timeout' ? event.timer : undefined;
    const timers = nextTimers(this.#timers.get(node.id) ?? noTimers, effects, time, fired);
    this.#timers.set(node.id, timers);
    this.recording.frame(node.id, { event: index, state: after, timers, incarnation: node.incarnation });
    this.recording.markLeadership(node.id, index, before, after);
  }

  crashed(node: SimNode<C>): void {
    const at = this.#position();
    const index = this.recording.add({ kind: 'crash', node: node.id, time: this.options.clock(), at });
    this.#timers.set(node.id, noTimers);
    this.recording.frame(node.id, {
      event: index,
      state: null,
      timers: noTimers,
      incarnation: node.incarnation,
    });
    if (!this.options.crashLosesInFlight) return;
    for (const [envelope, flight] of this.#inAir) {
      const { from, to } = envelope.message;
      if (from === node.id || to === node.id) {
        this.recording.end(flight, at, 'dropped');
        this.#untrack(envelope);
      }
    }
  }

  restarted(node: SimNode<C>, effects: readonly Effect<C>[]): void {
    const time = this.options.clock();
    const index = this.recording.add({ kind: 'restart', node: node.id, time, at: this.#position() });
    const timers = nextTimers(noTimers, effects, time);
    this.#timers.set(node.id, timers);
    this.recording.frame(node.id, { event: index, state: node.state, timers, incarnation: node.incarnation });
  }

  /**
   * Brings the flights in line with what the cluster has in flight now ('events' axis, after each action of a
   * history): one that is gone without arriving was dropped; one the recorder never saw leave is a duplicate.
   */
  reconcile(inFlight: readonly Envelope<C>[]): void {
    const now = new Set(inFlight);
    const lastEvent = this.recording.length - 1;
    const at = this.recording.events[lastEvent]?.at ?? 0;
    for (const [envelope, flight] of this.#inAir) {
      if (now.has(envelope)) continue;
      this.recording.end(flight, at, 'dropped');
      this.#untrack(envelope);
    }
    for (const envelope of inFlight) {
      if (!this.#inAir.has(envelope)) {
        const end = this.options.axis === 'time' ? envelope.deliverAt : Number.POSITIVE_INFINITY;
        this.#track(envelope, this.recording.send(envelope.message, at, end, lastEvent));
      }
    }
  }

  #received(message: Message<C>, at: number, index: number): void {
    // Of a message's copies (duplicates), the one arriving now is the one due first.
    const copies = this.#byMessage.get(message) ?? [];
    const envelope = copies.reduce<Envelope<C> | undefined>(
      (first, copy) => (first === undefined || copy.deliverAt < first.deliverAt ? copy : first),
      undefined,
    );
    if (envelope === undefined) return;
    this.recording.end(this.#inAir.get(envelope)!, at, 'delivered', index);
    this.#untrack(envelope);
  }

  #track(envelope: Envelope<C>, flight: Flight<C>): void {
    this.#inAir.set(envelope, flight);
    const same = this.#byMessage.get(envelope.message);
    if (same === undefined) this.#byMessage.set(envelope.message, [envelope]);
    else same.push(envelope);
  }

  #untrack(envelope: Envelope<C>): void {
    this.#inAir.delete(envelope);
    const same = this.#byMessage.get(envelope.message);
    const rest = same?.filter((other) => other !== envelope) ?? [];
    if (rest.length === 0) this.#byMessage.delete(envelope.message);
    else this.#byMessage.set(envelope.message, rest);
  }

  /** On the time axis, a flight past its arrival time arrived or was dropped there: nothing more to match. */
  #prune(): void {
    if (this.options.axis !== 'time') return;
    const now = this.options.clock();
    for (const [envelope, flight] of this.#inAir) if (flight.end < now) this.#untrack(envelope);
  }
}
