/**
 * The safety checker: a cluster observer that checks every property after every transition, restart, crash,
 * restore and read answer, and throws a PropertyViolation at the first one broken (so the step that broke it is
 * known). State machine safety on apply, and that restores never take a service back, are also checked by the
 * Cluster itself (SafetyViolation).
 */
import {
  type Effect,
  type Event,
  type Membership,
  type NodeId,
  type RaftState,
  type Snapshot,
  status,
} from '../src/core/index.js';
import type { ClusterObserver, ReadAnswer, SimNode } from '../src/runtime/simulator/index.js';
import { checkAppendOnly } from './checks/append-only.js';
import { CommitIndexCheck, visibleCommit } from './checks/commit-index.js';
import { CommittedLog } from './checks/committed.js';
import { ElectionSafety } from './checks/election-safety.js';
import {
  checkLeaderHolds,
  checkLeaderHoldsAll,
  checkNoElectableNodeLacks,
} from './checks/leader-completeness.js';
import { checkLogMatching } from './checks/log-matching.js';
import { currentLog, durableLog, membershipOf, type ReadableLog } from './checks/logs.js';
import { ReadChecker } from './checks/reads.js';
import { checkSnapshot } from './checks/snapshots.js';
import type { Command } from './scenario.js';

export class SafetyChecker implements ClusterObserver<Command> {
  /** Every node, as the cluster announces it on its first start. */
  readonly #nodes = new Map<NodeId, SimNode<Command>>();
  /** The configuration each node started with, before its storage held any. */
  readonly #initial = new Map<NodeId, Membership>();
  readonly #elections = new ElectionSafety();
  readonly #committed: CommittedLog;
  readonly #commitIndex = new CommitIndexCheck();
  readonly reads = new ReadChecker();

  /** `voters`: the cluster's initial configuration. */
  constructor(voters: readonly NodeId[]) {
    this.#committed = new CommittedLog({ voters, learners: [] });
  }

  transition(
    node: SimNode<Command>,
    event: Event<Command>,
    before: RaftState<Command>,
    after: RaftState<Command>,
    effects: readonly Effect<Command>[],
    cutShort: boolean,
  ): void {
    const is = status(after);
    const commitIndex = visibleCommit(before, after, effects, cutShort);
    this.#elections.check(after, effects);
    checkAppendOnly(before, after);
    this.#commitIndex.check(before, after, commitIndex, this.#nodes);
    const fresh = this.#committed.record(after, status(before).commitIndex, commitIndex);
    for (const committed of fresh) for (const leader of this.#leaders()) checkLeaderHolds(leader, committed);
    this.#committed.checkApplies(node.id, effects);
    for (const effect of effects) {
      if (effect.type === 'persist' && effect.snapshot !== undefined) {
        const how = event.type === 'snapshot' ? 'took' : 'installed';
        checkSnapshot(node.id, how, effect.snapshot, this.#committed);
      }
    }
    if (is.role === 'leader' && status(before).role !== 'leader') {
      checkLeaderHoldsAll(after, this.#committed);
    }
    this.reads.stepped(node.id, event);
    this.reads.committed(commitIndex);
    this.#checkLogs(node, currentLog(node));
  }

  restarted(node: SimNode<Command>): void {
    if (!this.#nodes.has(node.id)) {
      this.#nodes.set(node.id, node);
      if (node.state !== null) this.#initial.set(node.id, status(node.state).membership);
    }
    if (node.state === null) return;
    this.#elections.check(node.state);
    if (status(node.state).role === 'leader') checkLeaderHoldsAll(node.state, this.#committed);
    this.#checkLogs(node, currentLog(node));
  }

  restored(node: SimNode<Command>, snapshot: Snapshot): void {
    checkSnapshot(node.id, 'restored', snapshot, this.#committed);
  }

  read(node: SimNode<Command>, answer: ReadAnswer): void {
    this.reads.answered(node.id, answer);
  }

  /** A crashed node comes back with what it persisted, which may be less than it had in memory. */
  crashed(node: SimNode<Command>): void {
    this.reads.crashed(node.id);
    this.#checkLogs(node, durableLog(node));
  }

  *#leaders(): Generator<RaftState<Command>> {
    for (const node of this.#nodes.values()) {
      if (node.state !== null && status(node.state).role === 'leader') yield node.state;
    }
  }

  /** After `node`'s log changed (to `log`): it matches everyone else's, and no one lacking a commit can win. */
  #checkLogs(node: SimNode<Command>, log: ReadableLog): void {
    for (const other of this.#nodes.values()) {
      if (other !== node)
        checkLogMatching({ name: node.id, log }, { name: other.id, log: currentLog(other) });
    }
    const logs = [...this.#nodes.values()].map((each) => ({
      id: each.id,
      log: currentLog(each),
      membership: membershipOf(each, this.#initial.get(each.id)!),
    }));
    checkNoElectableNodeLacks(logs, this.#committed);
  }
}
