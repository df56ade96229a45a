/**
 * Membership changes in histories (scenario.ts's `change` action): what each kind of change asks of a leader,
 * computed from the configuration it holds, so that the same action makes sense in any history.
 */
import type { Membership, NodeId } from '../src/core/index.js';
import type { ChangeOp } from './scenario.js';

/** At most this many nodes join a history, so that histories stay small whatever the mix of changes. */
export const MAX_JOINS = 4;

export interface Change {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /** Members the change takes out (never to be added again). */
  readonly removed: readonly NodeId[];
}

const without = (ids: readonly NodeId[], gone: readonly NodeId[]) => ids.filter((id) => !gone.includes(id));

/**
 * The change `op` asks of a leader holding `m`, or undefined when it asks nothing (a change is in progress,
 * there is no one to promote, it would leave no voter, or no node can join). `newcomers(count)` gives up to
 * `count` nodes outside the configuration that may be added, starting new ones as needed; it is called only
 * when the change needs them.
 */
export function planChange(
  op: ChangeOp,
  pick: number,
  m: Membership,
  newcomers: (count: number) => readonly NodeId[],
): Change | undefined {
  if (m.outgoing !== undefined) return undefined;
  const { voters, learners } = m;
  const nth = <T>(list: readonly T[], k = 0): T | undefined => list[(pick + k) % list.length];
  switch (op) {
    case 'learn': {
      const added = newcomers(1);
      return added.length === 0 ? undefined : { voters, learners: [...learners, ...added], removed: [] };
    }
    case 'promote': {
      const promoted = nth(learners);
      if (promoted === undefined) return undefined;
      return { voters: [...voters, promoted], learners: without(learners, [promoted]), removed: [] };
    }
    case 'remove': {
      const gone = nth([...voters, ...learners]);
      if (gone === undefined || (voters.length === 1 && voters[0] === gone)) return undefined;
      return { voters: without(voters, [gone]), learners: without(learners, [gone]), removed: [gone] };
    }
    case 'replace': {
      const gone = nth(voters);
      if (gone === undefined) return undefined;
      const added = newcomers(1);
      if (added.length === 0) return undefined;
      return { voters: [...without(voters, [gone]), ...added], learners, removed: [gone] };
    }
    case 'grow': {
      const promoted = learners.slice(0, 2);
      const added = [...promoted, ...(promoted.length < 2 ? newcomers(2 - promoted.length) : [])];
      if (added.length === 0) return undefined;
      return { voters: [...voters, ...added], learners: without(learners, promoted), removed: [] };
    }
    case 'shrink': {
      const count = Math.min(2, voters.length - 1);
      if (count === 0) return undefined;
      const gone = Array.from({ length: count }, (_, k) => nth(voters, k)!);
      return { voters: without(voters, gone), learners, removed: gone };
    }
  }
}
