/**
 * Checks that hold at every instant of every scenario, not only when the lab's tester happens to look:
 * checkOneLeader samples roles every half second and would miss two leaders of one term that overlap
 * briefly, and nCommitted looks at one index at a time. (In-order, gap-free and identical applies are
 * checked by the Cluster itself, which throws SafetyViolation.)
 */
import type { Entry, NodeId, RaftState } from '../../src/core/index.js';
import { SafetyViolation, type SimNode } from '../../src/runtime/simulator/index.js';

/** What the checks read of a server and of its state. */
type Server<C> = Pick<SimNode<C>, 'id' | 'durable'>;
type RoleAndTerm = Pick<RaftState<unknown>, 'role' | 'term'>;

/**
 * Whether storage holds `entry`: in its log, or compacted into its snapshot (which only ever covers entries
 * that were committed, so the same ones).
 */
function holds<C>(durable: Server<C>['durable'], entry: Entry<C>): boolean {
  if (entry.index <= durable.snapshotIndex) return true;
  return durable.entries[entry.index - durable.snapshotIndex - 1]?.term === entry.term;
}

export class SafetyChecks<C> {
  /** Election safety: who became leader in each term. */
  readonly #leaderOfTerm = new Map<number, NodeId>();
  /** Every index up to here was checked when it was first applied. */
  #checkedUpTo = 0;

  constructor(private readonly nodes: () => Iterable<Server<C>>) {}

  /** At most one leader per term (Figure 3, election safety). */
  transition(node: Server<C>, before: RoleAndTerm, after: RoleAndTerm): void {
    if (after.role !== 'leader' || before.role === 'leader') return;
    const other = this.#leaderOfTerm.get(after.term);
    if (other !== undefined && other !== node.id) {
      throw new SafetyViolation(
        `election safety: ${other} and ${node.id} both became leader in term ${after.term}`,
      );
    }
    this.#leaderOfTerm.set(after.term, node.id);
  }

  /**
   * No commit without a majority: when an entry is applied for the first time anywhere, a majority of the
   * servers hold it durably. (Later they still do: a committed entry is never truncated.)
   */
  applied(entries: readonly Entry<C>[]): void {
    for (const entry of entries) {
      if (entry.index <= this.#checkedUpTo) continue;
      const all = [...this.nodes()];
      const holders = all.filter((node) => holds(node.durable, entry));
      if (2 * holders.length <= all.length) {
        throw new SafetyViolation(
          `entry ${entry.index} (term ${entry.term}) was applied while only ${holders.length} of ${all.length} servers stored it`,
        );
      }
      this.#checkedUpTo = entry.index;
    }
  }
}
