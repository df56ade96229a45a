/** Carries out one action of a history on the cluster. Anything an action refers to that is not there is a no-op. */
import { ELECTION_TIMER, HEARTBEAT_TIMER, type NodeId, status } from '../src/core/index.js';
import type { Cluster, Envelope } from '../src/runtime/simulator/index.js';
import { type Action, type Command, commandAt, type Target } from './scenario.js';

/** Against livelock: a tick is a few hundred virtual milliseconds, far fewer deliveries than this. */
const MAX_DELIVERIES_PER_TICK = 10_000;

const TIMERS = { election: ELECTION_TIMER, heartbeat: HEARTBEAT_TIMER } as const;

/** The live leader of the highest term, if any. */
export function currentLeader(cluster: Cluster<Command>): NodeId | undefined {
  let leader: { id: NodeId; term: number } | undefined;
  for (const state of cluster.states()) {
    const { id, role, term } = status(state);
    if (role === 'leader' && (leader === undefined || term > leader.term)) leader = { id, term };
  }
  return leader?.id;
}

function resolve(cluster: Cluster<Command>, target: Target): NodeId | undefined {
  return target === 'leader' ? currentLeader(cluster) : target;
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

function pick(cluster: Cluster<Command>, position: number): Envelope<Command> | undefined {
  const envelopes = cluster.inFlight;
  return envelopes.length === 0 ? undefined : envelopes[position % envelopes.length];
}

export function execute(cluster: Cluster<Command>, action: Action, position: number): void {
  switch (action.type) {
    case 'propose': {
      const id = resolve(cluster, action.node);
      if (id !== undefined) cluster.propose(id, commandAt(position), action.crashAfter);
      return;
    }
    case 'fire': {
      const id = resolve(cluster, action.node);
      if (id !== undefined) cluster.fire(id, TIMERS[action.timer], action.crashAfter);
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
  }
}
