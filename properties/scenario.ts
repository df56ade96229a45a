/**
 * What a property run is about, as plain JSON data: a cluster size, a config, and a history of actions on
 * the simulated cluster. fast-check generates and shrinks these; traces store them; replay reads them back.
 *
 * Actions name nodes by id and in-flight messages by position, never by object, so that any action is
 * meaningful (or a harmless no-op) in any history: shrinking can drop actions freely.
 */
import type { Config, NodeId } from '../src/core/index.js';

/** Commands are strings, unique per history, so that any two different entries are distinguishable. */
export type Command = string;

/** A node by id, or whichever live node leads the highest term right now (no-op when there is none). */
export type Target = NodeId | 'leader';

/**
 * `crashAfter`: the node crashes after executing only that many of the transition's effects.
 * `message`: a position among the messages in flight in their order of arrival, taken modulo their number
 * (0 is the next to arrive, anything else reorders); a no-op when nothing is in flight.
 */
export type Action =
  | { readonly type: 'propose'; readonly node: Target; readonly crashAfter?: number }
  | {
      readonly type: 'fire';
      readonly node: Target;
      readonly timer: 'election' | 'heartbeat';
      readonly crashAfter?: number;
    }
  /**
   * Lets time pass up to the next armed timer and fires it: every message in flight that arrives before
   * then is delivered, in order, and so are the answers they cause. Elections and heartbeats happen at their
   * natural pace (a leader's heartbeats keep its followers' election timers from expiring), unlike `fire`,
   * which fires a timer at once, however early: a premature timeout. `crashAfter` applies to the timer.
   */
  | { readonly type: 'tick'; readonly crashAfter?: number }
  | { readonly type: 'deliver'; readonly message: number; readonly crashAfter?: number }
  /** Delivers every message in flight right now, in order (not those sent meanwhile): a network round. */
  | { readonly type: 'flush' }
  | { readonly type: 'drop'; readonly message: number }
  | { readonly type: 'duplicate'; readonly message: number }
  /**
   * Takes a message in flight out of the network, to arrive only when a `release` names it: an arbitrarily long
   * delay (contract rule 6), past any number of elections, unlike `maxDelay`. `release`: the `message`-th held
   * one (modulo their number) arrives next.
   */
  | { readonly type: 'hold'; readonly message: number }
  | { readonly type: 'release'; readonly message: number }
  /** `groups[i]` is the group of node i: only nodes in the same group can talk. */
  | { readonly type: 'partition'; readonly groups: readonly number[] }
  | { readonly type: 'heal' }
  | { readonly type: 'link'; readonly from: NodeId; readonly to: NodeId; readonly up: boolean }
  /** Cuts (or restores) every link to and from the node. */
  | { readonly type: 'connect'; readonly node: Target; readonly up: boolean }
  | { readonly type: 'crash'; readonly node: Target }
  /** Restarts a crashed node, or reboots a live one (crash, then restart from what it persisted). */
  | { readonly type: 'restart'; readonly node: Target }
  /** The end of a bad spell: heals every link and restarts every crashed node. */
  | { readonly type: 'recover' }
  /**
   * The node's service captures its state (a digest of the commands it applied, see service.ts) at its applied
   * index less `back` (never at or below its latest snapshot: then nothing happens), and hands it to the core.
   */
  | { readonly type: 'snapshot'; readonly node: Target; readonly back: number; readonly crashAfter?: number }
  /**
   * Asks the node (a leader, for anything to happen) to change the configuration it holds, as `op` says
   * (membership.ts); a change that needs a new node starts one (`Cluster.addNode`) first.
   */
  | { readonly type: 'change'; readonly node: Target; readonly op: ChangeOp; readonly pick: number }
  /** Asks the node to hand its leadership to the `pick`-th other voter of its configuration. */
  | { readonly type: 'transfer'; readonly node: Target; readonly pick: number }
  /** A linearizable read on the node, with the id `r<position>`. */
  | { readonly type: 'read'; readonly node: Target; readonly crashAfter?: number }
  /** Lets the cluster run on its own timers and deliveries for `ms` virtual milliseconds (no faults). */
  | { readonly type: 'run'; readonly ms: number };

/**
 * Membership changes, relative to the configuration the leader holds, so that they make sense in any history:
 * - learn: a new node joins as a learner;
 * - promote: the `pick`-th learner becomes a voter;
 * - remove: the `pick`-th member (voter or learner) leaves;
 * - replace: the `pick`-th voter leaves and a new node takes its place as a voter, in one change;
 * - grow: two more voters (learners first, then new nodes): 3 -> 5;
 * - shrink: two voters fewer, from the `pick`-th on: 5 -> 3.
 * A change never leaves no voter; nodes removed once are never added again.
 */
export type ChangeOp = 'learn' | 'promote' | 'remove' | 'replace' | 'grow' | 'shrink';

/** The config every node shares; ids, voters and per-node seeds are derived from it. */
export interface ScenarioConfig {
  readonly electionTimeout: readonly [min: number, max: number];
  readonly heartbeatInterval: number;
  readonly maxEntriesPerAppend: number;
  readonly maxInflightAppends: number;
  /**
   * A message's delay is uniform in [1, maxDelay] virtual ms: it orders deliveries during a `tick` (and among
   * positions), so that long delays let timers fire while messages are still on their way (split votes).
   */
  readonly maxDelay: number;
  /** Seeds every node's generator, differently per node and per incarnation, and the message delays. */
  readonly seed: number;
  /** The core's defaults (true) when absent, as in traces written before they were drawn. */
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  /**
   * Lease reads (thesis §6.4.1), drawn only with check-quorum. They rest on timers keeping time, so in these
   * histories a node's election timer never fires early: `fire` lets time run until it is due (execute.ts).
   */
  readonly leaseReads?: boolean;
}

/**
 * The config of targeted histories (rejoin.ts, stale.ts): the lab's timings, the default batches, pre-vote on;
 * `fields` sets the rest (a seed and a delay at least).
 */
export function targetedConfig(
  fields: Pick<ScenarioConfig, 'seed' | 'maxDelay'> & Partial<ScenarioConfig>,
): ScenarioConfig {
  return {
    electionTimeout: [300, 600],
    heartbeatInterval: 100,
    maxEntriesPerAppend: 64,
    maxInflightAppends: 4,
    preVote: true,
    ...fields,
  };
}

export interface Scenario {
  readonly size: number;
  readonly config: ScenarioConfig;
  readonly actions: readonly Action[];
}

/** The ids of the nodes a cluster starts with, then of the nodes that join it, in order: n1, n2, ... */
export function nodeIds(count: number): NodeId[] {
  return Array.from({ length: count }, (_, i) => `n${i + 1}`);
}

/**
 * The config of one node in one incarnation: a new seed per restart, so that timeouts differ. `voters`: the
 * configuration it starts with when its storage holds none; a node that joins later is given the voters of
 * the configuration the cluster was in when it joined (contract, Widening 1).
 */
export function nodeConfig(
  scenario: Scenario,
  id: NodeId,
  incarnation: number,
  voters: readonly NodeId[] = nodeIds(scenario.size),
): Config {
  const { seed, maxDelay: _, ...shared } = scenario.config;
  const position = Number(id.slice(1)) - 1;
  return {
    ...shared,
    id,
    voters,
    seed: (seed + position * 7919 + incarnation * 104_729) >>> 0,
  };
}

/** The command proposed by the action at `position`: unique within the history, and stable under replay. */
export function commandAt(position: number): Command {
  return `c${position}`;
}

/** The id of the read issued by the action at `position`: unique within the history. */
export function readIdAt(position: number): string {
  return `r${position}`;
}
