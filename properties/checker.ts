/**
 * The safety checker: a cluster observer that checks every property after every transition, restart and
 * crash, and throws a PropertyViolation at the first one broken (so the step that broke it is known).
 * State machine safety on apply is also checked by the Cluster itself (SafetyViolation).
 */
import { type Effect, type Event, type NodeId, type RaftState, status } from '../src/core/index.js';
import type { ClusterObserver, SimNode } from '../src/runtime/simulator/index.js';
import { checkAppendOnly } from './checks/append-only.js';
import { checkCommitIndex } from './checks/commit-index.js';
import { CommittedLog } from './checks/committed.js';
import { ElectionSafety } from './checks/election-safety.js';
import {
  checkLeaderHolds,
  checkLeaderHoldsAll,
  checkNoElectableNodeLacks,
} from './checks/leader-completeness.js';
import { checkLogMatching } from './checks/log-matching.js';
import { currentLog, durableLog, type ReadableLog } from './checks/logs.js';
import type { Command } from './scenario.js';

export class SafetyChecker implements ClusterObserver<Command> {
  /** Every node, as the cluster announces it on its first start. */
  readonly #nodes = new Map<NodeId, SimNode<Command>>();
  readonly #majority: number;
  readonly #elections = new ElectionSafety();
  readonly #committed = new CommittedLog();

  constructor(size: number) {
    this.#majority = Math.floor(size / 2) + 1;
  }

  transition(
    node: SimNode<Command>,
    _event: Event<Command>,
    before: RaftState<Command>,
    after: RaftState<Command>,
    effects: readonly Effect<Command>[],
  ): void {
    this.#elections.check(after, effects);
    checkAppendOnly(before, after);
    checkCommitIndex(before, after, this.#nodes.values(), this.#majority);
    const fresh = this.#committed.record(after, status(before).commitIndex, status(after).commitIndex);
    for (const committed of fresh) for (const leader of this.#leaders()) checkLeaderHolds(leader, committed);
    this.#committed.checkApplies(node.id, effects);
    if (status(after).role === 'leader' && status(before).role !== 'leader') {
      checkLeaderHoldsAll(after, this.#committed);
    }
    this.#checkLogs(node, currentLog(node));
  }

  restarted(node: SimNode<Command>): void {
    this.#nodes.set(node.id, node);
    if (node.state === null) return;
    this.#elections.check(node.state);
    if (status(node.state).role === 'leader') checkLeaderHoldsAll(node.state, this.#committed);
    this.#checkLogs(node, currentLog(node));
  }

  /** A crashed node comes back with what it persisted, which may be less than it had in memory. */
  crashed(node: SimNode<Command>): void {
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
    const logs = [...this.#nodes.values()].map((each) => ({ id: each.id, log: currentLog(each) }));
    checkNoElectableNodeLacks(logs, this.#committed, this.#majority);
  }
}
