/**
 * The liveness phase, run after a faulty history: heal every link, restart every crashed node, and let the
 * cluster run quietly on its own timers (seeded message delays, no faults). Within bounded virtual time a
 * leader must emerge, in a final (not joint) configuration, that every member of that configuration keeps
 * following; a command proposed on it must then be committed and applied by every member; and every read
 * still waiting must get its answer. Nodes outside the configuration (removed, or joined and never added) owe
 * nothing. The safety checker keeps watching throughout.
 */
import { type Membership, type NodeId, status } from '../src/core/index.js';
import type { Cluster } from '../src/runtime/simulator/index.js';
import { currentLeader } from './execute.js';
import type { Command, ScenarioConfig } from './scenario.js';
import { PropertyViolation } from './violation.js';
import type { Changes, World } from './world.js';

/**
 * The membership changes a liveness history makes. With neither pre-vote nor check-quorum, nothing keeps a
 * node that a configuration left behind (removed before it heard so, or added by an entry that was then
 * overwritten) from deposing leaders with ever higher terms, since no leader talks to it any more (§6, thesis
 * §4.2.3): those histories change no membership (their safety is checked all the same).
 */
export function livenessChanges(config: ScenarioConfig): Changes {
  if (config.preVote === false && config.checkQuorum === false) return 'none';
  return 'all';
}

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

function members(m: Membership): NodeId[] {
  return [...m.voters, ...m.learners];
}

/**
 * A live leader, in a final configuration that has it as a voter, that every member of it follows in its term.
 * A leader that the configuration leaves out is on its way out (thesis §4.2.2: it steps down once that
 * configuration is committed), and what it accepts meanwhile may be lost with it: it is not the leader to wait for.
 */
function followedLeader(
  cluster: Cluster<Command>,
): { id: NodeId; term: number; members: NodeId[] } | undefined {
  const leader = currentLeader(cluster);
  if (leader === undefined) return undefined;
  const { term, membership } = status(cluster.node(leader).state!);
  if (membership.outgoing !== undefined || !membership.voters.includes(leader)) return undefined;
  const followed = members(membership).every((id) => {
    const state = cluster.node(id).state;
    return state !== null && status(state).term === term && status(state).leaderId === leader;
  });
  return followed ? { id: leader, term, members: members(membership) } : undefined;
}

/** A leadership transfer asked for during the history is still under way: it may yet hand leadership over. */
function transferring(cluster: Cluster<Command>, leader: NodeId): boolean {
  return (
    status(cluster.node(leader).state!).transferring !== null ||
    cluster.inFlight.some((envelope) => envelope.message.type === 'TimeoutNow')
  );
}

/**
 * Runs until some leader has been followed by every member for a whole election timeout, with no transfer
 * under way: by then every timer armed during the history has fired, and followers that kept their leader
 * that long keep it while the network stays quiet (heartbeats arrive at most interval + delay apart, well
 * within a timeout).
 */
function awaitStableLeader(cluster: Cluster<Command>, config: ScenarioConfig): NodeId | undefined {
  const deadline = cluster.now + LEADER_WITHIN;
  let since: { id: NodeId; term: number; at: number } | undefined;
  while (cluster.now < deadline) {
    const leader = followedLeader(cluster);
    if (leader === undefined || leader.id !== since?.id || leader.term !== since.term) {
      since = leader && { ...leader, at: cluster.now };
    } else if (cluster.now - since.at >= config.electionTimeout[1] && !transferring(cluster, leader.id)) {
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
      const voters = `${s.membership.voters.join(',')}${s.membership.outgoing ? ` outgoing ${s.membership.outgoing.join(',')}` : ''}`;
      return `${id} ${s.role} t${s.term} leader=${s.leaderId} last=${s.lastIndex} commit=${s.commitIndex} applied=${node.appliedIndex} voters=${voters}`;
    })
    .join('; ');
}

export function checkLiveness(world: World, config: ScenarioConfig): void {
  const { cluster } = world;
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
  const everyone = members(status(cluster.node(leader).state!).membership);
  cluster.propose(leader, LIVENESS_COMMAND);
  const { lastIndex: index } = status(cluster.node(leader).state!);

  const within = appliedWithin(index, config);
  const applied = () => everyone.every((id) => cluster.node(id).appliedIndex >= index);
  if (!runUntil(cluster, applied, within)) {
    throw new PropertyViolation(
      'liveness',
      `the command proposed on ${leader} at index ${index} was not applied by ${everyone.join(', ')} ` +
        `within ${within} ms: ${describeNodes(cluster)}`,
    );
  }
  // Every node applied the same entries: the cluster checks each apply against the first at its index.
  if (cluster.appliedLog[index]?.command !== LIVENESS_COMMAND) {
    throw new PropertyViolation(
      'liveness',
      `index ${index} holds ${JSON.stringify(cluster.appliedLog[index])}, not the command`,
    );
  }
  // A read waits at most for a round of heartbeats on a leader, and fails as soon as its node stops leading.
  const reads = world.checker.reads;
  if (!runUntil(cluster, () => reads.unanswered().length === 0, config.electionTimeout[1])) {
    throw new PropertyViolation(
      'one answer per read',
      `reads still unanswered ${config.electionTimeout[1]} ms after the cluster settled: ` +
        reads.unanswered().join(', '),
    );
  }
}
