/**
 * What the page shows at one moment of a recording, as plain data: each node (role, term, vote, commit, its
 * timers), each message in the air and how far along it is, each node's log around the newest entries, and
 * which links are cut. The renderers draw this and nothing else, and the browser tests read it (through
 * `window.__viz`) to compare what is drawn with the simulator's own state.
 */
import { type EntryKind, logOf, type Message, type NodeId, status } from '../../../src/core/index.js';
import { type Fate, type Flight, linkName, type NodeFrame, type Recording } from './recording.js';

/** How many log cells each row shows: the newest entries of the cluster. */
export const LOG_WINDOW = 32;

export type RoleView = 'follower' | 'precandidate' | 'candidate' | 'leader' | 'learner' | 'down' | 'unknown';

export interface TimerArc {
  readonly name: string;
  /** Share of the timeout still to run, 1 when just armed, 0 when it fires. */
  readonly remaining: number;
}

export interface NodeView {
  readonly id: NodeId;
  readonly role: RoleView;
  readonly term: number;
  readonly votedFor: NodeId | null;
  readonly leaderId: NodeId | null;
  readonly commitIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly incarnation: number;
  readonly timers: readonly TimerArc[];
}

export interface LogCell {
  readonly index: number;
  readonly term: number;
  readonly kind: EntryKind;
  readonly committed: boolean;
  readonly text: string;
}

export interface LogRow {
  readonly id: NodeId;
  readonly snapshotIndex: number;
  /** 0 when down or unknown. */
  readonly lastIndex: number;
  /** Cells for indices `window.from..window.to` that this node holds (compacted and missing ones left out). */
  readonly cells: readonly LogCell[];
}

export interface FlightView {
  readonly flight: Flight<unknown>;
  readonly message: Message<unknown>;
  /** 0 at the sender, 1 at the receiver. */
  readonly progress: number;
  readonly fate: Fate;
}

export interface LinkView {
  readonly a: NodeId;
  readonly b: NodeId;
  /** Cut both ways, one way, or up. */
  readonly state: 'up' | 'half' | 'cut';
}

export interface View {
  readonly event: number;
  readonly at: number;
  /** Virtual ms. */
  readonly time: number;
  readonly nodes: readonly NodeView[];
  readonly links: readonly LinkView[];
  readonly flights: readonly FlightView[];
  readonly window: { readonly from: number; readonly to: number };
  readonly logs: readonly LogRow[];
}

/** Timers in a fixed order, so that each keeps its ring from frame to frame. */
const TIMER_ORDER = ['election', 'heartbeat', 'checkQuorum', 'transfer', 'lease'];
const timerRank = (name: string): number => {
  const rank = TIMER_ORDER.indexOf(name);
  return rank === -1 ? TIMER_ORDER.length : rank;
};

function nodeView(id: NodeId, frame: NodeFrame<unknown> | undefined, time: number): NodeView {
  const blank = {
    id,
    term: 0,
    votedFor: null,
    leaderId: null,
    commitIndex: 0,
    lastIndex: 0,
    snapshotIndex: 0,
  };
  if (frame === undefined) return { ...blank, role: 'unknown', incarnation: 0, timers: [] };
  const { state, incarnation } = frame;
  if (state === null) return { ...blank, role: 'down', incarnation, timers: [] };
  const s = status(state);
  const timers = frame.timers
    .filter((timer) => timer.armedAt <= time && time <= timer.dueAt)
    .map((timer) => ({
      name: timer.name,
      remaining: (timer.dueAt - time) / Math.max(1, timer.dueAt - timer.armedAt),
    }))
    .sort((a, b) => timerRank(a.name) - timerRank(b.name));
  return {
    id,
    // status() reports a pre-candidate as a follower; the picture shows the difference, as the simulator can.
    role: state.role === 'precandidate' ? 'precandidate' : s.role,
    term: s.term,
    votedFor: s.votedFor,
    leaderId: s.leaderId,
    commitIndex: s.commitIndex,
    lastIndex: s.lastIndex,
    snapshotIndex: s.snapshotIndex,
    incarnation,
    timers,
  };
}

function entryText(entry: { kind: EntryKind; command?: unknown }): string {
  if (entry.kind === 'command')
    return typeof entry.command === 'string' ? entry.command : JSON.stringify(entry.command);
  return entry.kind;
}

function logRow(id: NodeId, frame: NodeFrame<unknown> | undefined, from: number, to: number): LogRow {
  const state = frame?.state;
  if (state == null) return { id, snapshotIndex: 0, lastIndex: 0, cells: [] };
  const log = logOf(state);
  const { commitIndex, snapshotIndex } = status(state);
  const cells: LogCell[] = [];
  for (let index = Math.max(from, log.firstIndex); index <= Math.min(to, log.lastIndex); index++) {
    const entry = log.entry(index);
    if (entry === undefined) continue;
    cells.push({
      index,
      term: entry.term,
      kind: entry.kind,
      committed: index <= commitIndex,
      text: entryText(entry),
    });
  }
  return { id, snapshotIndex, lastIndex: log.lastIndex, cells };
}

function flightView(flight: Flight<unknown>, at: number, openSpan: number): FlightView {
  const span = flight.end === Number.POSITIVE_INFINITY ? openSpan : flight.end - flight.start;
  const raw = span <= 0 ? 1 : (at - flight.start) / span;
  // A message whose arrival is not known yet stops short of its target.
  const progress = Math.min(flight.end === Number.POSITIVE_INFINITY ? 0.85 : 1, Math.max(0, raw));
  return { flight, message: flight.message, progress, fate: flight.fate };
}

function linkViews(ids: readonly NodeId[], cut: ReadonlySet<string>): LinkView[] {
  const links: LinkView[] = [];
  ids.forEach((a, i) => {
    for (const b of ids.slice(i + 1)) {
      const ways = Number(cut.has(linkName(a, b))) + Number(cut.has(linkName(b, a)));
      links.push({ a, b, state: ways === 2 ? 'cut' : ways === 1 ? 'half' : 'up' });
    }
  });
  return links;
}

/** The view after event `event`, with messages placed at axis position `at` (at or after that event's). */
export function viewAt<C>(recording: Recording<C>, event: number, at: number): View {
  const record = recording.events[event];
  const time = recording.axis === 'time' ? at : (record?.time ?? 0);
  const ids = recording.ids;
  const frames = ids.map((id) => recording.nodeAt(id, event) as NodeFrame<unknown> | undefined);
  const nodes = ids.map((id, i) => nodeView(id, frames[i], time));
  const to = Math.max(0, ...nodes.map((node) => node.lastIndex));
  const from = Math.max(1, to - LOG_WINDOW + 1);
  return {
    event,
    at,
    time,
    nodes,
    links: linkViews(ids, recording.linksAt(event)),
    flights: recording
      .flightsAt(at, event)
      .map((flight) => flightView(flight as Flight<unknown>, at, recording.openSpan)),
    window: { from, to },
    logs: ids.map((id, i) => logRow(id, frames[i], from, to)),
  };
}
