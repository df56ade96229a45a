/**
 * A simulated run that the page drives: the project's Simulator (the real core, a virtual clock, seeded
 * faults), advanced one item at a time (a timer, a delivery, or a proposal of the client load), with every
 * person's action kept on a tape with the item count and virtual time it happened at. The same setup and
 * tape give the same run, event for event, so a run can be replayed, forked from any event, and shared.
 */

import { currentLeader } from '../../../properties/execute.js';
import { ELECTION_TIMER, type NodeId, status } from '../../../src/core/index.js';
import { type Faults, Simulator } from '../../../src/runtime/simulator/index.js';
import { describeAction, type Knobs, type TapeEntry, type UserAction } from './actions.js';
import { cutLinks } from './links.js';
import { Recorder } from './recorder.js';
import { lastAtOrBefore, Recording } from './recording.js';

export interface RunSetup {
  readonly nodes: number;
  readonly seed: number;
  /** The knobs at the start; actions change them later. */
  readonly knobs: Knobs;
  /** The core's `maxInflightAppends` (its default when absent): how deep a leader pipelines its appends. */
  readonly inflight?: number;
}

export const DEFAULT_KNOBS: Knobs = { loss: 0, duplicate: 0, delay: 30, load: 0, compactEvery: 0 };
export const DEFAULT_SETUP: RunSetup = { nodes: 5, seed: 1, knobs: DEFAULT_KNOBS };

/** Virtual ms: slow enough to watch at a fraction of real time, in the proportions of the paper (§9.3). */
export const ELECTION_TIMEOUT = [300, 600] as const;
export const HEARTBEAT_INTERVAL = 100;

function faultsOf(knobs: Knobs): Faults {
  return {
    loss: knobs.loss,
    duplicate: knobs.duplicate,
    delay: [knobs.delay, 2 * knobs.delay],
    longDelay: 0,
    longDelayRange: [0, 0],
  };
}

export class SimRun {
  readonly sim: Simulator<string>;
  readonly recording = new Recording<string>('time', 100);
  readonly tape: TapeEntry[] = [];
  /** Items carried out so far. */
  items = 0;
  knobs: Knobs;
  /** The event number at which each tape entry was applied. */
  readonly #tapeEvents: number[] = [];
  /** Recording length after each item: which item an event belongs to. */
  readonly #itemEnds: number[] = [];
  #nextProposalAt: number | undefined;
  #commands = 0;

  constructor(readonly setup: RunSetup) {
    this.knobs = setup.knobs;
    const recorder = new Recorder(this.recording, {
      // The simulator starts every node while it is being built, before `this.sim` is set: at time 0.
      clock: () => this.sim?.now ?? 0,
      axis: 'time',
      crashLosesInFlight: true,
      lostSpan: setup.knobs.delay,
    });
    this.sim = new Simulator<string>({
      nodes: setup.nodes,
      seed: setup.seed,
      electionTimeout: ELECTION_TIMEOUT,
      heartbeatInterval: HEARTBEAT_INTERVAL,
      faults: faultsOf(setup.knobs),
      ...(setup.inflight !== undefined && { config: { maxInflightAppends: setup.inflight } }),
      observer: recorder,
    });
    this.#scheduleProposals();
  }

  get time(): number {
    return this.sim.now;
  }

  /** The live leader of the highest term. */
  get leader(): NodeId | undefined {
    return currentLeader(this.sim.cluster);
  }

  /** When the next item is due, or undefined when nothing will ever happen again (every node down). */
  nextItemTime(): number | undefined {
    const due = this.sim.cluster.nextDue();
    const proposal = this.#nextProposalAt;
    if (proposal === undefined) return due;
    return due === undefined ? proposal : Math.min(due, proposal);
  }

  /** Carries out the next item: a proposal of the client load when it is due first, else a timer or a delivery. */
  stepItem(): boolean {
    const due = this.sim.cluster.nextDue();
    const proposal = this.#nextProposalAt;
    if (proposal !== undefined && (due === undefined || proposal < due)) {
      this.sim.cluster.now = Math.max(this.sim.now, proposal);
      this.#proposeToLeader();
      this.#nextProposalAt = proposal + 1000 / this.knobs.load;
    } else if (due !== undefined) {
      this.sim.cluster.runUntil(due, 1);
    } else {
      return false;
    }
    this.#compact();
    this.items++;
    this.#itemEnds.push(this.recording.length);
    return true;
  }

  /** Carries out every item due by `time`, at most `maxItems` of them; the clock then reads `time` if all were. */
  advanceTo(time: number, maxItems = Number.POSITIVE_INFINITY): boolean {
    for (let done = 0; done < maxItems; done++) {
      const next = this.nextItemTime();
      if (next === undefined || next > time) {
        this.sim.cluster.now = Math.max(this.sim.now, Math.floor(time));
        return true;
      }
      this.stepItem();
    }
    return false;
  }

  /** Whether `action` means anything now (a crashed node cannot crash again, a leader has no election timer). */
  canApply(action: UserAction): boolean {
    const node = 'node' in action ? this.sim.node(action.node) : undefined;
    switch (action.type) {
      case 'crash':
      case 'snapshot':
        return node?.state != null;
      case 'restart':
        return node?.state === null;
      case 'timeout':
        return node?.state != null && node.timers.has(ELECTION_TIMER);
      case 'isolate':
        return this.sim.ids.some((id) => id !== action.node && this.sim.cluster.canReach(action.node, id));
      case 'rejoin':
        return this.sim.ids.some((id) => id !== action.node && !this.sim.cluster.canReach(action.node, id));
      case 'transfer':
      case 'propose': {
        const leader = this.leader;
        return leader !== undefined && (action.type === 'propose' || leader !== action.node);
      }
      case 'cut':
        return this.sim.cluster.canReach(action.a, action.b) || this.sim.cluster.canReach(action.b, action.a);
      case 'heal':
        return (
          !this.sim.cluster.canReach(action.a, action.b) || !this.sim.cluster.canReach(action.b, action.a)
        );
      case 'knob':
        return true;
    }
  }

  /** Does `action` now, and puts it on the tape. */
  apply(action: UserAction): void {
    const time = this.sim.now;
    this.tape.push({ item: this.items, time, action });
    const node = 'node' in action ? action.node : null;
    const event = this.recording.add({ kind: 'action', node, text: describeAction(action), time, at: time });
    this.#tapeEvents.push(event);
    this.recording.mark('action', event, describeAction(action));
    this.#perform(action);
    this.recording.links(this.recording.length - 1, cutLinks(this.sim.cluster));
  }

  /** The setup, tape and position that replay this run up to event `event` (to fork it there). */
  prefix(event: number): { tape: TapeEntry[]; until: { item: number; time: number } } {
    const tape = this.tape.filter((_, position) => this.#tapeEvents[position]! <= event);
    const item = lastAtOrBefore(this.#itemEnds, event + 1, (end) => end) + 1;
    const time = this.recording.events[event]?.time ?? 0;
    return { tape, until: { item, time } };
  }

  #perform(action: UserAction): void {
    const cluster = this.sim.cluster;
    switch (action.type) {
      case 'crash':
        return this.sim.crash(action.node);
      case 'restart':
        return this.sim.restart(action.node);
      case 'isolate':
        return this.sim.disconnect(action.node);
      case 'rejoin':
        return this.sim.connect(action.node);
      case 'timeout':
        cluster.fire(action.node, ELECTION_TIMER);
        return;
      case 'snapshot':
        this.#snapshot(action.node);
        return;
      case 'transfer': {
        const leader = this.leader;
        if (leader !== undefined) cluster.step(leader, { type: 'transferLeadership', to: action.node });
        return;
      }
      case 'cut':
      case 'heal':
        cluster.setLink(action.a, action.b, action.type === 'heal');
        cluster.setLink(action.b, action.a, action.type === 'heal');
        return;
      case 'propose':
        this.#proposeToLeader();
        return;
      case 'knob':
        this.knobs = { ...this.knobs, [action.knob]: action.value };
        this.sim.faults = faultsOf(this.knobs);
        if (action.knob === 'load') this.#scheduleProposals();
        return;
    }
  }

  #scheduleProposals(): void {
    this.#nextProposalAt = this.knobs.load > 0 ? this.sim.now + 1000 / this.knobs.load : undefined;
  }

  #proposeToLeader(): void {
    const leader = this.leader;
    if (leader !== undefined) this.sim.propose(leader, `c${++this.#commands}`);
  }

  /** What the service would do with a snapshot policy: compact once enough was applied since the last one. */
  #compact(): void {
    if (this.knobs.compactEvery <= 0) return;
    for (const id of this.sim.ids) {
      const node = this.sim.node(id);
      if (node.state === null) continue;
      if (node.appliedIndex - status(node.state).snapshotIndex >= this.knobs.compactEvery) this.#snapshot(id);
    }
  }

  #snapshot(id: NodeId): void {
    const { appliedIndex } = this.sim.node(id);
    this.sim.cluster.snapshot(id, `state through ${appliedIndex}`);
  }
}

/**
 * Replays a setup and tape (to `until`, if given) into a new run, yielding now and then so that a long one
 * can be spread over several frames.
 */
export function* replayRun(
  setup: RunSetup,
  tape: readonly TapeEntry[],
  until?: { readonly item: number; readonly time: number },
  itemsPerSlice = 500,
): Generator<number, SimRun> {
  const run = new SimRun(setup);
  const catchUp = function* (item: number, time: number): Generator<number> {
    while (run.items < item && run.stepItem()) if (run.items % itemsPerSlice === 0) yield run.items;
    run.sim.cluster.now = Math.max(run.sim.now, time);
  };
  for (const entry of tape) {
    yield* catchUp(entry.item, entry.time);
    run.apply(entry.action);
  }
  if (until !== undefined) yield* catchUp(until.item, until.time);
  return run;
}
