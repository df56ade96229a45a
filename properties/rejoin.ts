/**
 * Pre-vote (thesis §9.6): a node cut off from a healthy cluster times out again and again; when it comes
 * back it must not depose the leader that everyone else kept hearing. Without pre-vote, each timeout raises
 * its term, and the first message it sends after rejoining makes the leader step down.
 *
 * Short targeted histories, plain scenarios (so failures replay like any other): n1 times out on a quiet
 * cluster and wins; one follower is cut off, times out many times (on its own timers and early ones) while
 * the leader may take proposals; the follower reconnects and the cluster runs quietly. Judged by `RejoinWatch`.
 */
import fc from 'fast-check';
import { type NodeId, status } from '../src/core/index.js';
import type { Cluster } from '../src/runtime/simulator/index.js';
import { currentLeader } from './execute.js';
import { type Action, type Command, nodeIds, type Scenario, targetedConfig } from './scenario.js';
import { PropertyViolation } from './violation.js';

const cutOff = (id: NodeId, up: boolean): Action => ({ type: 'connect', node: id, up });

/** While the follower is away: time passes, it times out early, the leader takes a proposal. */
const away: fc.Arbitrary<Action> = fc.oneof(
  fc.integer({ min: 100, max: 2_000 }).map((ms): Action => ({ type: 'run', ms })),
  fc.constant<Action>({ type: 'propose', node: 'leader' }),
);

export function rejoinArbitrary(size: number): fc.Arbitrary<Scenario> {
  return fc
    .record({
      follower: fc.constantFrom(...nodeIds(size).slice(1)),
      seed: fc.nat(),
      maxDelay: fc.constantFrom(10, 30, 150),
      checkQuorum: fc.boolean(),
      early: fc.integer({ min: 1, max: 20 }),
      meanwhile: fc.array(away, { minLength: 1, maxLength: 10 }),
      settle: fc.integer({ min: 1_000, max: 5_000 }),
    })
    .map(({ follower, seed, maxDelay, checkQuorum, early, meanwhile, settle }) => ({
      size,
      config: targetedConfig({ maxDelay, seed, checkQuorum }),
      actions: [
        { type: 'fire', node: 'n1', timer: 'election' },
        { type: 'run', ms: 2_000 },
        cutOff(follower, false),
        ...Array.from({ length: early }, (): Action => ({ type: 'fire', node: follower, timer: 'election' })),
        ...meanwhile,
        cutOff(follower, true),
        { type: 'run', ms: settle },
      ],
    }));
}

/** The leader that every live node follows in its term, if any. */
function followedByAll(cluster: Cluster<Command>): { id: NodeId; term: number } | undefined {
  const id = currentLeader(cluster);
  if (id === undefined) return undefined;
  const { term } = status(cluster.node(id).state!);
  const all = cluster.ids.every((other) => {
    const state = cluster.node(other).state;
    return state !== null && status(state).term === term && status(state).leaderId === id;
  });
  return all ? { id, term } : undefined;
}

/**
 * Watches a rejoin history: when the first node is cut off, note the leader that all nodes follow (a history
 * where there is none, or where the leader itself is cut off, asks nothing); after the history, that leader
 * must still lead in the same term, with every node following it.
 */
export class RejoinWatch {
  #leader: { id: NodeId; term: number } | undefined;
  #watching = false;

  onAction(action: Action, cluster: Cluster<Command>): void {
    if (this.#watching || action.type !== 'connect' || action.up) return;
    this.#watching = true;
    const leader = followedByAll(cluster);
    if (leader !== undefined && leader.id !== action.node) this.#leader = leader;
  }

  /** Whether the history asked anything (for the test to check that most do). */
  get judged(): boolean {
    return this.#leader !== undefined;
  }

  afterHistory(cluster: Cluster<Command>): void {
    const was = this.#leader;
    if (was === undefined) return;
    const now = followedByAll(cluster);
    if (now?.id !== was.id || now.term !== was.term) {
      const states = cluster.states().map((state) => {
        const s = status(state);
        return `${s.id} ${s.role} t${s.term} leader=${s.leaderId}`;
      });
      throw new PropertyViolation(
        'no disruption on rejoin',
        `${was.id} led term ${was.term}, followed by all, when a follower was cut off; after it rejoined: ` +
          states.join('; '),
      );
    }
  }
}
