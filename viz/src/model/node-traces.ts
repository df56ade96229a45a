/**
 * Real nodes' traces (`pureraft node --trace`, `pureraft cluster --trace-dir`) played through the real core
 * into one Recording. Each file is one incarnation of one node; a node's files, in name order (the cluster
 * names them by start time), are its life, with a crash and a restart between two of them.
 *
 * The traces have no clock, so the page chooses an order of their events that respects causality: a message
 * is received after it was sent (sends and receives are matched by `messageKey`, first sent first received),
 * and otherwise the nodes take turns in proportion to how far along their traces they are. It is one order
 * the run could have had; every node's own sequence of events is exactly the recorded one.
 *
 * Live mode feeds the same merger as lines arrive: a receive whose send has not arrived yet waits for it,
 * unless told to go ahead (`release`).
 */
import {
  type Effect,
  type Event,
  init,
  type Message,
  type NodeId,
  type RaftState,
  step,
} from '../../../src/core/index.js';
import type { TraceEvent, TraceStart } from '../../../src/runtime/node/trace.js';
import { type Flight, Recording } from './recording.js';
import { noTimers } from './timers.js';

/** Events a message is drawn in flight when only one end of it is known. */
export const UNMATCHED_SPAN = 3;

/**
 * What identifies a message on both sides of a real transport. Not its whole text: a received snapshot's data
 * is a reference to the receiver's own copy.
 */
export function messageKey(message: Message<unknown>): string {
  const fields = message as unknown as Record<string, unknown>;
  const entries = fields.entries as readonly unknown[] | undefined;
  const snapshot = fields.snapshot as { meta: { index: number } } | undefined;
  return [
    message.type,
    message.from,
    message.to,
    message.term,
    fields.round,
    fields.prevLogIndex,
    fields.lastLogIndex,
    fields.leaderCommit,
    fields.index,
    fields.voteGranted,
    fields.success,
    entries?.length,
    snapshot?.meta.index,
  ].join('|');
}

interface Segment {
  readonly name: string;
  readonly start: TraceStart<unknown>;
  readonly events: TraceEvent<unknown>[];
}

type Upcoming =
  | { readonly kind: 'event'; readonly event: Event<unknown>; readonly key?: string }
  | { readonly kind: 'restart'; readonly segment: Segment };

/** One node's incarnations, and how far the merge has played them. */
class Life {
  readonly segments: Segment[] = [];
  current = -1;
  next = 0;
  state: RaftState<unknown> | null = null;
  processed = 0;
  /** The reducer threw on this node's trace: it is left where it stopped. */
  broken = false;
  #upcoming: Upcoming | undefined;

  constructor(readonly id: NodeId) {}

  get total(): number {
    return this.segments.reduce((sum, segment) => sum + segment.events.length + 1, 0);
  }

  get progress(): number {
    return this.processed / Math.max(1, this.total);
  }

  /** What this node does next, if its traces say anything more. */
  upcoming(): Upcoming | undefined {
    if (this.broken) return undefined;
    if (this.#upcoming !== undefined) return this.#upcoming;
    const segment = this.segments[this.current];
    const recorded = segment?.events[this.next];
    if (recorded !== undefined) {
      const { event } = recorded;
      const key = event.type === 'receive' ? messageKey(event.message) : undefined;
      this.#upcoming = { kind: 'event', event, ...(key !== undefined && { key }) };
    } else {
      const following = this.segments[this.current + 1];
      if (following !== undefined) this.#upcoming = { kind: 'restart', segment: following };
    }
    return this.#upcoming;
  }

  advance(): void {
    const upcoming = this.#upcoming;
    this.#upcoming = undefined;
    this.processed++;
    if (upcoming?.kind === 'restart') {
      this.current++;
      this.next = 0;
    } else {
      this.next++;
    }
  }
}

export class TraceMerger {
  readonly recording = new Recording<unknown>('events', 16);
  readonly #lives = new Map<NodeId, Life>();
  /** Flights sent and not yet received, by message key, oldest first. */
  readonly #mailbox = new Map<string, Flight<unknown>[]>();

  constructor() {
    this.recording.openSpan = UNMATCHED_SPAN;
  }

  /** A trace file: one incarnation of the node its config names. Files of one node play in name order. */
  addSegment(name: string, start: TraceStart<unknown>, events: readonly TraceEvent<unknown>[] = []): void {
    const { id, voters } = start.config;
    for (const peer of [id, ...voters]) this.recording.addNode(peer);
    let life = this.#lives.get(id);
    if (life === undefined) {
      life = new Life(id);
      this.#lives.set(id, life);
    }
    const segment: Segment = { name, start, events: [...events] };
    // Only incarnations not started yet can be put in order.
    const position = life.segments.findIndex((other, i) => i > life.current && other.name > name);
    if (position === -1) life.segments.push(segment);
    else life.segments.splice(position, 0, segment);
  }

  /** More events of a file already added (live mode: lines as they are written). */
  appendEvents(name: string, events: readonly TraceEvent<unknown>[]): void {
    for (const life of this.#lives.values()) {
      const segment = life.segments.find((each) => each.name === name);
      if (segment !== undefined) {
        // One by one: a spread of a large batch overflows the call stack.
        for (const event of events) segment.events.push(event);
        return;
      }
    }
  }

  /** Events and starts known so far, played or not. */
  get total(): number {
    let total = 0;
    for (const life of this.#lives.values()) total += life.total;
    return total;
  }

  /** Whether some node has events not played yet. */
  get pending(): boolean {
    return [...this.#lives.values()].some((life) => life.upcoming() !== undefined);
  }

  /**
   * Plays up to `max` events and returns how many it played. A receive whose send is not known waits, unless
   * `release` (the files are complete, or it waited long enough): then it is drawn from its sender without a
   * send, and the merge goes on.
   */
  run(max: number, release: boolean): number {
    let played = 0;
    for (; played < max; played++) {
      const life = this.#pick(release);
      if (life === undefined) break;
      this.#play(life);
    }
    return played;
  }

  /** The node is known to be down (live mode: its process stopped answering). */
  down(id: NodeId): void {
    const life = this.#lives.get(id);
    if (life === undefined || life.state === null || life.upcoming() !== undefined) return;
    life.state = null;
    this.#crash(id);
  }

  /** The files are complete: a message never received is drawn leaving its sender for a moment, then gone. */
  finish(): void {
    for (const flights of this.#mailbox.values()) {
      for (const flight of flights) this.recording.end(flight, flight.start + UNMATCHED_SPAN, 'dropped');
    }
    this.#mailbox.clear();
    this.recording.finished = true;
  }

  /**
   * The next node to play: one with a receive whose send is known (the oldest such send), else the one
   * least far along among those with anything else to do, else (with `release`) a waiting receive.
   */
  #pick(release: boolean): Life | undefined {
    let ready: { life: Life; sentBy: number } | undefined;
    let other: Life | undefined;
    let waiting: Life | undefined;
    for (const life of this.#lives.values()) {
      const upcoming = life.upcoming();
      if (upcoming === undefined) continue;
      if (upcoming.kind === 'event' && upcoming.key !== undefined) {
        const sent = this.#mailbox.get(upcoming.key)?.[0];
        if (sent !== undefined) {
          if (ready === undefined || sent.sentBy < ready.sentBy) ready = { life, sentBy: sent.sentBy };
        } else if (waiting === undefined || life.progress < waiting.progress) {
          waiting = life;
        }
      } else if (other === undefined || life.progress < other.progress) {
        other = life;
      }
    }
    return ready?.life ?? other ?? (release ? waiting : undefined);
  }

  #play(life: Life): void {
    const upcoming = life.upcoming()!;
    life.advance();
    try {
      if (upcoming.kind === 'restart') this.#restart(life, upcoming.segment);
      else this.#step(life, upcoming.event, upcoming.key);
    } catch (error) {
      // A trace from another version of the core, or a damaged one: show where it stopped making sense.
      life.broken = true;
      const text = `${life.id}: the reducer refused this trace here: ${(error as Error).message}`;
      const at = this.recording.length;
      const event = this.recording.add({ kind: 'action', node: life.id, text, time: at, at });
      this.recording.mark('violation', event, text);
    }
  }

  #restart(life: Life, segment: Segment): void {
    if (life.state !== null) this.#crash(life.id);
    const [state, effects] = init(segment.start.config, segment.start.durable);
    life.state = state;
    const at = this.recording.length;
    const event = this.recording.add({ kind: 'restart', node: life.id, time: at, at });
    this.#frame(life, event);
    this.#sends(effects, event);
  }

  #crash(id: NodeId): void {
    const at = this.recording.length;
    const event = this.recording.add({ kind: 'crash', node: id, time: at, at });
    this.recording.frame(id, { event, state: null, timers: noTimers, incarnation: this.#incarnation(id) });
  }

  #step(life: Life, event: Event<unknown>, key: string | undefined): void {
    const before = life.state;
    if (before === null) throw new Error('an event before the start record');
    const [after, effects] = step(before, event);
    life.state = after;
    const at = this.recording.length;
    const index = this.recording.add({ kind: 'step', node: life.id, event, effects, time: at, at });
    if (event.type === 'receive' && key !== undefined) this.#receive(event.message, key, index);
    this.#frame(life, index);
    this.#sends(effects, index);
    this.recording.markLeadership(life.id, index, before, after);
  }

  #receive(message: Message<unknown>, key: string, index: number): void {
    const queue = this.#mailbox.get(key);
    const sent = queue?.shift();
    if (queue?.length === 0) this.#mailbox.delete(key);
    if (sent !== undefined) {
      this.recording.end(sent, index, 'delivered', index);
      return;
    }
    const from = Math.max(0, index - UNMATCHED_SPAN);
    this.recording.send(message, from, index, from, 'delivered').receivedBy = index;
  }

  #sends(effects: readonly Effect<unknown>[], index: number): void {
    for (const effect of effects) {
      if (effect.type !== 'send') continue;
      const flight = this.recording.send(effect.message, index, Number.POSITIVE_INFINITY, index);
      const key = messageKey(effect.message);
      const queue = this.#mailbox.get(key);
      if (queue === undefined) this.#mailbox.set(key, [flight]);
      else queue.push(flight);
    }
  }

  #frame(life: Life, event: number): void {
    this.recording.frame(life.id, {
      event,
      state: life.state,
      timers: noTimers,
      incarnation: this.#incarnation(life.id),
    });
  }

  #incarnation(id: NodeId): number {
    return (this.#lives.get(id)?.current ?? 0) + 1;
  }
}
