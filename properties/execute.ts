/** Carries out one action of a history on the cluster. Anything an action refers to that is not there is a no-op. */
import { ELECTION_TIMER, HEARTBEAT_TIMER, type NodeId, status } from '../src/core/index.js';
import type { Cluster, Envelope } from '../src/runtime/simulator/index.js';
import { planChange } from './membership.js';
import { type Action, type Command, commandAt, readIdAt, type Target } from './scenario.js';
import type { World } from './world.js';

/** Against livelock: a tick is a few hundred virtual milliseconds, far fewer deliveries than this. */
const MAX_DELIVERIES_PER_TICK = 10_000;

const TIMERS = { election: ELECTION_TIMER, heartbeat: HEARTBEAT_TIMER } as const;

/** Against livelock in `fireWhenDue`: an election timeout spans a few dozen timers of a small cluster. */
const MAX_TICKS_TO_A_TIMER = 1_000;

/** The live leader of the highest term, if any. */
export function currentLeader(cluster: Cluster<Command>): NodeId | undefined {
  let leader: { id: NodeId; term: number } | undefined;
  for (const state of cluster.states()) {
    const { id, role, term } = status(state);
    if (role === 'leader' && (leader === undefined || term > leader.term)) leader = { id, term };
  }
  return leader?.id;
}

/** The node a target names, if it is there (a node that has not joined yet is not). */
function resolve(cluster: Cluster<Command>, target: Target): NodeId | undefined {
  if (target === 'leader') return currentLeader(cluster);
  return cluster.nodes.has(target) ? target : undefined;
}

/** The live node a target names. */
function live(cluster: Cluster<Command>, target: Target): NodeId | undefined {
  const id = resolve(cluster, target);
  return id !== undefined && cluster.node(id).state !== null ? id : undefined;
}

/** The armed timer due first (ties: node order, then the order the node armed them). */
function earliestTimer(cluster: Cluster<Command>): { id: NodeId; timer: string; at: number } | undefined {
  let earliest: { id: NodeId; timer: string; at: number } | undefined;
  for (const id of cluster.ids) {
    for (const [timer, at] of cluster.node(id).timers) {
      if (earliest === undefined || at < earliest.at) earliest = { id, timer, at };
    }
  }
  return earliest;
}

/** See the `tick` action. Deliveries can re-arm timers, so the next timer is looked up after each one. */
function tick(cluster: Cluster<Command>, crashAfter: number | undefined): void {
  for (let deliveries = 0; deliveries < MAX_DELIVERIES_PER_TICK; deliveries++) {
    const timer = earliestTimer(cluster);
    const envelope = cluster.nextToArrive();
    if (envelope !== undefined && (timer === undefined || envelope.deliverAt < timer.at)) {
      cluster.now = Math.max(cluster.now, envelope.deliverAt);
      cluster.deliver(envelope);
    } else {
      if (timer === undefined) return;
      cluster.now = Math.max(cluster.now, timer.at);
      cluster.fire(timer.id, timer.timer, crashAfter);
      return;
    }
  }
}

/**
 * A `fire` where timers keep time: time runs, as `tick`s, until the node's timer is due and fires, unless the
 * node re-arms or cancels it first (a follower that hears from its leader).
 */
function fireWhenDue(
  cluster: Cluster<Command>,
  id: NodeId,
  timer: string,
  crashAfter: number | undefined,
): void {
  const at = cluster.node(id).timers.get(timer);
  for (let ticks = 0; at !== undefined && ticks < MAX_TICKS_TO_A_TIMER; ticks++) {
    const next = earliestTimer(cluster);
    if (next === undefined || next.at > at) return;
    tick(cluster, next.id === id && next.timer === timer ? crashAfter : undefined);
    if (cluster.node(id).timers.get(timer) !== at) return;
  }
}

function pick(cluster: Cluster<Command>, position: number): Envelope<Command> | undefined {
  const envelopes = cluster.inFlight;
  return envelopes.length === 0 ? undefined : envelopes[position % envelopes.length];
}

/** See the `snapshot` action: the service hands its state at an index it reached, past the latest snapshot. */
function snapshot(world: World, id: NodeId, back: number, crashAfter: number | undefined): void {
  const node = world.cluster.node(id);
  const index = Math.max(status(node.state!).snapshotIndex + 1, node.appliedIndex - back);
  const data = world.services.digestAt(id, index);
  if (index <= node.appliedIndex && data !== undefined) world.cluster.snapshot(id, data, index, crashAfter);
}

/** See the `change` action. */
function change(world: World, id: NodeId, action: Extract<Action, { type: 'change' }>): void {
  if (world.changes === 'none') return;
  const { membership } = status(world.cluster.node(id).state!);
  const planned = planChange(action.op, action.pick, membership, (count) =>
    world.newcomers(membership, count),
  );
  if (planned === undefined) return;
  world.removed(planned.removed);
  world.cluster.step(id, { type: 'changeMembership', voters: planned.voters, learners: planned.learners });
}

/** See the `transfer` action: to another voter of the node's configuration. */
function transfer(cluster: Cluster<Command>, id: NodeId, pick: number): void {
  const { membership } = status(cluster.node(id).state!);
  const voters = [...new Set([...membership.voters, ...(membership.outgoing ?? [])])].filter((v) => v !== id);
  if (voters.length > 0) cluster.step(id, { type: 'transferLeadership', to: voters[pick % voters.length]! });
}

export function execute(world: World, action: Action, position: number): void {
  const { cluster } = world;
  switch (action.type) {
    case 'propose': {
      const id = resolve(cluster, action.node);
      if (id !== undefined) cluster.propose(id, commandAt(position), action.crashAfter);
      return;
    }
    case 'fire': {
      const id = resolve(cluster, action.node);
      if (id === undefined) return;
      if (world.timersKeepTime && action.timer === 'election') {
        return fireWhenDue(cluster, id, TIMERS[action.timer], action.crashAfter);
      }
      cluster.fire(id, TIMERS[action.timer], action.crashAfter);
      return;
    }
    case 'tick':
      return tick(cluster, action.crashAfter);
    case 'deliver': {
      const envelope = pick(cluster, action.message);
      if (envelope !== undefined) cluster.deliver(envelope, action.crashAfter);
      return;
    }
    case 'flush':
      for (const envelope of cluster.inFlight) cluster.deliver(envelope);
      return;
    case 'drop': {
      const envelope = pick(cluster, action.message);
      if (envelope !== undefined) cluster.drop(envelope);
      return;
    }
    case 'duplicate': {
      const envelope = pick(cluster, action.message);
      if (envelope !== undefined) cluster.duplicate(envelope);
      return;
    }
    case 'hold': {
      const envelope = pick(cluster, action.message);
      if (envelope === undefined) return;
      cluster.drop(envelope);
      world.held.push(envelope);
      return;
    }
    case 'release': {
      if (world.held.length === 0) return;
      const [envelope] = world.held.splice(action.message % world.held.length, 1);
      cluster.duplicate(envelope!, cluster.now);
      return;
    }
    case 'partition': {
      const groups = new Map<number, NodeId[]>();
      cluster.ids.forEach((id, i) => {
        const group = action.groups[i] ?? 0;
        groups.set(group, [...(groups.get(group) ?? []), id]);
      });
      cluster.partition([...groups.values()]);
      return;
    }
    case 'heal':
      cluster.heal();
      return;
    case 'link':
      cluster.setLink(action.from, action.to, action.up);
      return;
    case 'connect': {
      const id = resolve(cluster, action.node);
      if (id !== undefined) cluster.setConnected(id, action.up);
      return;
    }
    case 'crash': {
      const id = resolve(cluster, action.node);
      if (id !== undefined) cluster.crash(id);
      return;
    }
    case 'restart': {
      const id = resolve(cluster, action.node);
      if (id !== undefined) cluster.restart(id);
      return;
    }
    case 'recover':
      cluster.heal();
      for (const id of cluster.ids) if (cluster.node(id).state === null) cluster.restart(id);
      return;
    case 'snapshot': {
      const id = live(cluster, action.node);
      if (id !== undefined) snapshot(world, id, action.back, action.crashAfter);
      return;
    }
    case 'change': {
      const id = live(cluster, action.node);
      if (id !== undefined) change(world, id, action);
      return;
    }
    case 'transfer': {
      const id = live(cluster, action.node);
      if (id !== undefined) transfer(cluster, id, action.pick);
      return;
    }
    case 'read': {
      const id = resolve(cluster, action.node);
      if (id !== undefined) cluster.step(id, { type: 'read', id: readIdAt(position) }, action.crashAfter);
      return;
    }
    case 'run':
      cluster.runUntil(cluster.now + action.ms);
      return;
  }
}
