/**
 * The liveness phase, run after a faulty history: heal every link, restart every crashed node, and let the
 * cluster run quietly on its own timers (seeded message delays, no faults). Within bounded virtual time a
 * leader must emerge that every node follows; a command proposed on it must then be committed and applied on
 * every node. The safety checker keeps watching throughout.
 */
import { status } from '../src/core/index.js';
import type { Cluster } from '../src/runtime/simulator/index.js';
import { currentLeader } from './execute.js';
import type { Command } from './scenario.js';
import { PropertyViolation } from './violation.js';

/** Virtual ms. A stable term needs a few election timeouts (300..600 ms) at worst; a commit a few heartbeats. */
export const LEADER_WITHIN = 10_000;
export const APPLIED_WITHIN = 3_000;
const STEP = 10;
export const LIVENESS_COMMAND: Command = 'liveness';

/** Runs the cluster until `done()` holds (checked every STEP ms) or `within` ms pass; returns whether it held. */
function runUntil(cluster: Cluster<Command>, done: () => boolean, within: number): boolean {
  const deadline = cluster.now + within;
  while (!done()) {
    if (cluster.now >= deadline) return false;
    cluster.runUntil(Math.min(deadline, cluster.now + STEP));
  }
  return true;
}

/** A live leader that every node knows, in its term. */
function stableLeader(cluster: Cluster<Command>): string | undefined {
  const leader = currentLeader(cluster);
  if (leader === undefined) return undefined;
  const { term } = status(cluster.node(leader).state!);
  const states = cluster.states().map(status);
  const followed =
    states.length === cluster.ids.length && states.every((s) => s.term === term && s.leaderId === leader);
  return followed ? leader : undefined;
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

export function checkLiveness(cluster: Cluster<Command>): void {
  cluster.heal();
  for (const id of cluster.ids) if (cluster.node(id).state === null) cluster.restart(id);

  if (!runUntil(cluster, () => stableLeader(cluster) !== undefined, LEADER_WITHIN)) {
    throw new PropertyViolation(
      'liveness',
      `no stable leader ${LEADER_WITHIN} ms after healing: ${describeNodes(cluster)}`,
    );
  }
  const leader = stableLeader(cluster)!;
  cluster.propose(leader, LIVENESS_COMMAND);
  const { lastIndex: index } = status(cluster.node(leader).state!);

  const appliedEverywhere = () => cluster.ids.every((id) => cluster.node(id).appliedIndex >= index);
  if (!runUntil(cluster, appliedEverywhere, APPLIED_WITHIN)) {
    throw new PropertyViolation(
      'liveness',
      `the command proposed on ${leader} at index ${index} was not applied everywhere within ${APPLIED_WITHIN} ms: ` +
        describeNodes(cluster),
    );
  }
  // Every node applied the same entries (the cluster checks each apply against the first at its index).
  if (cluster.appliedLog[index]?.command !== LIVENESS_COMMAND) {
    throw new PropertyViolation(
      'liveness',
      `index ${index} holds ${JSON.stringify(cluster.appliedLog[index])}, not the command`,
    );
  }
}
