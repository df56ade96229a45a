/**
 * The liveness phase, run after a faulty history: heal every link, restart every crashed node, and let the
 * cluster run quietly on its own timers (seeded message delays, no faults). Within bounded virtual time a
 * leader must emerge that every node keeps following; a command proposed on it must then be committed and
 * applied on every node. The safety checker keeps watching throughout.
 */
import { type NodeId, status } from '../src/core/index.js';
import type { Cluster } from '../src/runtime/simulator/index.js';
import { currentLeader } from './execute.js';
import type { Command, ScenarioConfig } from './scenario.js';
import { PropertyViolation } from './violation.js';

/** Virtual ms. A term every node follows needs a few election timeouts (300..600 ms), even after split votes. */
export const LEADER_WITHIN = 10_000;
const STEP = 10;
export const LIVENESS_COMMAND: Command = 'liveness';

/**
 * Virtual ms for every node to apply the entry at `index`. A follower far behind catches up one batch per
 * round trip (2 maxDelay), and one entry per batch at worst; allow twice that for probing and retries.
 */
export function appliedWithin(index: number, config: ScenarioConfig): number {
  return 2_000 + index * 4 * config.maxDelay;
}

/** A live leader that every node follows, in its term. */
function followedLeader(cluster: Cluster<Command>): { id: NodeId; term: number } | undefined {
  const leader = currentLeader(cluster);
  if (leader === undefined) return undefined;
  const { term } = status(cluster.node(leader).state!);
  const states = cluster.states().map(status);
  const followed =
    states.length === cluster.ids.length && states.every((s) => s.term === term && s.leaderId === leader);
  return followed ? { id: leader, term } : undefined;
}

/**
 * Runs until some leader has been followed by every node for a whole election timeout: by then every timer
 * armed during the history has fired, and followers that kept their leader that long keep it while the
 * network stays quiet (heartbeats arrive at most interval + delay apart, well within a timeout).
 */
function awaitStableLeader(cluster: Cluster<Command>, config: ScenarioConfig): NodeId | undefined {
  const deadline = cluster.now + LEADER_WITHIN;
  let since: { id: NodeId; term: number; at: number } | undefined;
  while (cluster.now < deadline) {
    const leader = followedLeader(cluster);
    if (leader === undefined || leader.id !== since?.id || leader.term !== since.term) {
      since = leader && { ...leader, at: cluster.now };
    } else if (cluster.now - since.at >= config.electionTimeout[1]) {
      return leader.id;
    }
    cluster.runUntil(cluster.now + STEP);
  }
  return undefined;
}

/** Runs until `done()` holds (checked every STEP ms) or `within` ms pass; returns whether it held. */
function runUntil(cluster: Cluster<Command>, done: () => boolean, within: number): boolean {
  const deadline = cluster.now + within;
  while (!done()) {
    if (cluster.now >= deadline) return false;
    cluster.runUntil(Math.min(deadline, cluster.now + STEP));
  }
  return true;
}

function describeNodes(cluster: Cluster<Command>): string {
  return cluster.ids
    .map((id) => {
      const node = cluster.node(id);
      if (node.state === null) return `${id} down`;
      const s = status(node.state);
      return `${id} ${s.role} t${s.term} leader=${s.leaderId} last=${s.lastIndex} commit=${s.commitIndex} applied=${node.appliedIndex}`;
    })
    .join('; ');
}

export function checkLiveness(cluster: Cluster<Command>, config: ScenarioConfig): void {
  cluster.heal();
  for (const id of cluster.ids) if (cluster.node(id).state === null) cluster.restart(id);

  const leader = awaitStableLeader(cluster, config);
  if (leader === undefined) {
    throw new PropertyViolation(
      'liveness',
      `no leader followed by all for ${config.electionTimeout[1]} ms within ${LEADER_WITHIN} ms of healing: ` +
        describeNodes(cluster),
    );
  }
  cluster.propose(leader, LIVENESS_COMMAND);
  const { lastIndex: index } = status(cluster.node(leader).state!);

  const within = appliedWithin(index, config);
  if (!runUntil(cluster, () => cluster.ids.every((id) => cluster.node(id).appliedIndex >= index), within)) {
    throw new PropertyViolation(
      'liveness',
      `the command proposed on ${leader} at index ${index} was not applied everywhere within ${within} ms: ` +
        describeNodes(cluster),
    );
  }
  // Every node applied the same entries: the cluster checks each apply against the first at its index.
  if (cluster.appliedLog[index]?.command !== LIVENESS_COMMAND) {
    throw new PropertyViolation(
      'liveness',
      `index ${index} holds ${JSON.stringify(cluster.appliedLog[index])}, not the command`,
    );
  }
}
