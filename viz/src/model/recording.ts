/**
 * Everything a run did, kept so that any moment of it can be looked at again: the events in order, each
 * node's state after each of its events, and every message's flight. The page draws from here, never from a
 * live simulator, so that a simulated run, a property's counterexample and real nodes' traces look the same,
 * and going back to any event is a binary search, not a re-run.
 *
 * States are kept by reference: the core's states are immutable and share structure (its log is a persistent
 * structure), so 100,000 of them cost tens of megabytes, not a copy each.
 *
 * Positions are on an axis: virtual milliseconds for a simulation (messages move at the pace the simulator
 * gave them), or event numbers for traces, whose clock says little (a counterexample delivers messages in any
 * order at one instant; a real node's trace has no clock at all).
 */
import {
  type Effect,
  type Event,
  type Message,
  type NodeId,
  type RaftState,
  status,
} from '../../../src/core/index.js';

export type AxisKind = 'time' | 'events';

export interface TimerView {
  readonly name: string;
  /** Virtual ms. */
  readonly armedAt: number;
  readonly dueAt: number;
}

/** A node as it is after one of the recorded events, until its next. */
export interface NodeFrame<C> {
  readonly event: number;
  /** null while the node is down. */
  readonly state: RaftState<C> | null;
  readonly timers: readonly TimerView[];
  readonly incarnation: number;
}

export type RecordedEvent<C> =
  /** A node stepped `event` and produced `effects` (those it executed, when it crashed part-way). */
  | {
      readonly kind: 'step';
      readonly node: NodeId;
      readonly event: Event<C>;
      readonly effects: readonly Effect<C>[];
      readonly time: number;
      readonly at: number;
    }
  | { readonly kind: 'crash' | 'restart'; readonly node: NodeId; readonly time: number; readonly at: number }
  /** Something done to the cluster from outside (a click, a history's action), `node` if it names one. */
  | {
      readonly kind: 'action';
      readonly node: NodeId | null;
      readonly text: string;
      readonly time: number;
      readonly at: number;
    };

export type Fate = 'flying' | 'delivered' | 'lost' | 'dropped';

export interface Flight<C> {
  readonly id: number;
  readonly message: Message<C>;
  /** Axis positions: it leaves its sender at `start` and is gone at `end` (Infinity while unknown). */
  readonly start: number;
  end: number;
  fate: Fate;
  /** Event numbers: sent by the step `sentBy`, received by the step `receivedBy`. */
  readonly sentBy: number;
  receivedBy: number | undefined;
}

export type MarkerKind = 'action' | 'leader' | 'violation';

export interface Marker {
  readonly kind: MarkerKind;
  readonly event: number;
  readonly text: string;
  /** A leader's term. */
  readonly term?: number;
}

/** The links that are cut (one way: `from>to`) from event `event` on. */
export interface LinkFrame {
  readonly event: number;
  readonly cut: ReadonlySet<string>;
}

export const linkName = (from: NodeId, to: NodeId): string => `${from}>${to}`;

export interface Violation {
  readonly property: string;
  readonly message: string;
  /** The event during which it broke. */
  readonly event: number;
}

const last = <T>(items: readonly T[]): T | undefined => items[items.length - 1];

/** The position of the last item whose key is at most `key` (items sorted by key), or -1. */
export function lastAtOrBefore<T>(items: readonly T[], key: number, keyOf: (item: T) => number): number {
  let low = 0;
  let high = items.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (keyOf(items[middle]!) <= key) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

export class Recording<C> {
  readonly events: RecordedEvent<C>[] = [];
  readonly markers: Marker[] = [];
  violation: Violation | undefined;
  /** Set by a source that knows the run is over (a trace fully loaded); a simulation never ends. */
  finished = false;
  /** How long (axis units) a message whose arrival is not known yet is drawn on its way. */
  openSpan: number;
  readonly #frames = new Map<NodeId, NodeFrame<C>[]>();
  readonly #links: LinkFrame[] = [{ event: -1, cut: new Set() }];
  readonly #ids: NodeId[] = [];
  /**
   * Flights by bucket of the axis (each flight in every bucket it spans), so that the messages in the air at
   * any position are found by looking at one bucket, however long the run.
   */
  readonly #buckets: Flight<C>[][] = [];
  /** Flights whose end is not known yet: not in any bucket until it is. */
  readonly #open = new Set<Flight<C>>();
  #flights = 0;

  constructor(
    readonly axis: AxisKind,
    /** Axis units per bucket: about a typical flight's length. */
    readonly bucketSize: number,
  ) {
    this.openSpan = bucketSize;
  }

  get ids(): readonly NodeId[] {
    return this.#ids;
  }

  get length(): number {
    return this.events.length;
  }

  /** The axis position of the last event (0 before any). */
  get headAt(): number {
    return last(this.events)?.at ?? 0;
  }

  get flightCount(): number {
    return this.#flights;
  }

  addNode(id: NodeId): void {
    if (this.#frames.has(id)) return;
    this.#ids.push(id);
    this.#frames.set(id, []);
  }

  /** Appends an event and returns its number. Events come in axis order. */
  add(event: RecordedEvent<C>): number {
    this.events.push(event);
    return this.events.length - 1;
  }

  mark(kind: MarkerKind, event: number, text: string): void {
    this.markers.push({ kind, event, text });
  }

  /** Marks event `event` if it made `id` a leader. */
  markLeadership(id: NodeId, event: number, before: RaftState<C> | null, after: RaftState<C>): void {
    const { role, term } = status(after);
    if (role !== 'leader' || (before !== null && status(before).role === 'leader')) return;
    this.markers.push({ kind: 'leader', event, text: `${id} leads term ${term}`, term });
  }

  /** Records the node as it is after event `frame.event`. */
  frame(id: NodeId, frame: NodeFrame<C>): void {
    this.addNode(id);
    this.#frames.get(id)!.push(frame);
  }

  /** The node as it was after event `event` (undefined before its first start). */
  nodeAt(id: NodeId, event: number): NodeFrame<C> | undefined {
    const frames = this.#frames.get(id);
    if (frames === undefined) return undefined;
    return frames[lastAtOrBefore(frames, event, (frame) => frame.event)];
  }

  /** The node's latest frame. */
  latest(id: NodeId): NodeFrame<C> | undefined {
    const frames = this.#frames.get(id);
    return frames === undefined ? undefined : last(frames);
  }

  /** The cut links after event `event`, recorded only when they changed. */
  links(event: number, cut: ReadonlySet<string>): void {
    const previous = last(this.#links)!.cut;
    if (previous.size === cut.size && [...cut].every((link) => previous.has(link))) return;
    this.#links.push({ event, cut });
  }

  linksAt(event: number): ReadonlySet<string> {
    return this.#links[lastAtOrBefore(this.#links, event, (frame) => frame.event)]!.cut;
  }

  /** The last event at or before axis position `at` (-1 before the first). */
  eventAt(at: number): number {
    return lastAtOrBefore(this.events, at, (event) => event.at);
  }

  send(message: Message<C>, start: number, end: number, sentBy: number, fate: Fate = 'flying'): Flight<C> {
    const flight: Flight<C> = {
      id: this.#flights++,
      message,
      start,
      end,
      fate,
      sentBy,
      receivedBy: undefined,
    };
    if (end === Number.POSITIVE_INFINITY) this.#open.add(flight);
    else this.#file(flight);
    return flight;
  }

  /** The flight is over at `at` (earlier than planned, or at last known). */
  end(flight: Flight<C>, at: number, fate: Fate, receivedBy?: number): void {
    const wasOpen = this.#open.delete(flight);
    flight.end = Math.min(flight.end, at);
    flight.fate = fate;
    if (receivedBy !== undefined) flight.receivedBy = receivedBy;
    // A filed flight only ever gets shorter, so the buckets it is in still cover it.
    if (wasOpen) this.#file(flight);
  }

  /** Messages in the air at position `at`, as of event `event` (several events can share one position). */
  flightsAt(at: number, event: number): Flight<C>[] {
    const bucket = this.#buckets[Math.floor(at / this.bucketSize)] ?? [];
    const inAir = (flight: Flight<C>): boolean =>
      flight.start <= at &&
      flight.sentBy <= event &&
      (flight.receivedBy === undefined ? at < flight.end : event < flight.receivedBy);
    const found = bucket.filter(inAir);
    for (const flight of this.#open) if (inAir(flight)) found.push(flight);
    return found;
  }

  #file(flight: Flight<C>): void {
    const first = Math.floor(flight.start / this.bucketSize);
    const lastBucket = Math.floor(flight.end / this.bucketSize);
    for (let bucket = first; bucket <= lastBucket; bucket++) {
      this.#buckets[bucket] ??= [];
      this.#buckets[bucket]!.push(flight);
    }
  }
}
