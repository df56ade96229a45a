/**
 * fast-check arbitraries for scenarios. The mix was tuned by measuring how often histories catch the broken
 * reducers in mutants.ts (how many elections, conflicting logs and commits they produce), not by taste:
 * - time passes (`tick`) often, so that elections finish and leaders replicate and commit;
 * - premature election timeouts are common too: competing candidates in one term, logs that diverge;
 * - leaders get proposals, and are often isolated, crashed or rebooted right after, leaving entries of their
 *   term on a minority (the raw material of Figure 8);
 * - messages are delivered early, out of order, dropped or duplicated between ticks, and some are held back
 *   past any number of elections (`hold`) before they arrive (`release`);
 * - crashes in the middle of a transition ride on timers, deliveries and proposals, after 1..3 effects
 *   (where a persist and the sends it guards meet);
 * - `recover` ends bad spells, so that histories do not starve with every node down or cut off;
 * - services snapshot often enough that leaders compact what lagging followers need (so snapshots travel and
 *   are installed) and that nodes restart from snapshots;
 * - leaders get membership changes, transfers and reads amid all of it; reads go to any node too, and so
 *   reach deposed leaders that do not know it yet;
 * - pre-vote and check-quorum are each on in half the histories: on is the default, off makes elections
 *   wilder (and the pre-vote-off half is where a vote without the election restriction shows); lease reads
 *   are on in half of those with check-quorum, where the reads check that a lease never serves a stale value.
 */
import fc from 'fast-check';
import type { NodeId } from '../src/core/index.js';
import { MAX_JOINS } from './membership.js';
import { type Action, type ChangeOp, nodeIds, type Scenario, type ScenarioConfig } from './scenario.js';

/** Long histories catch more per run; per millisecond, length hardly matters. Shrinking makes them short. */
export const MAX_ACTIONS = 400;

const configArbitrary: fc.Arbitrary<ScenarioConfig> = fc
  .record({
    electionTimeout: fc.constant([300, 600] as const),
    heartbeatInterval: fc.constant(100),
    // Small batches let a follower's match stop short of the leader's no-op (Figure 8 needs that); 64 is the
    // default. Shrinking favours the first.
    maxEntriesPerAppend: fc.oneof(
      { arbitrary: fc.constant(1), weight: 2 },
      { arbitrary: fc.constant(2), weight: 1 },
      { arbitrary: fc.constant(64), weight: 1 },
    ),
    maxInflightAppends: fc.constantFrom(1, 4),
    // Long delays let timers fire while messages are on their way.
    maxDelay: fc.constantFrom(30, 150),
    seed: fc.nat(),
    preVote: fc.boolean(),
    checkQuorum: fc.boolean(),
    leaseReads: fc.boolean(),
  })
  // Lease reads need check-quorum; with it they are on in half the histories.
  .map((config) => ({ ...config, leaseReads: config.leaseReads && config.checkQuorum }));

/** Mostly the next message to arrive (0, which shrinking also favours), else any: reordering. */
const messagePosition = fc.oneof(
  { arbitrary: fc.constant(0), weight: 3 },
  { arbitrary: fc.nat(63), weight: 2 },
);

const crashAfter: fc.Arbitrary<number | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 15 },
  { arbitrary: fc.integer({ min: 1, max: 3 }), weight: 1 },
);

/** Leaves out an undefined `crashAfter`, so that actions stay small, plain JSON. */
function withCrash<A extends Action>(action: A, crash: number | undefined): A {
  return crash === undefined ? action : { ...action, crashAfter: crash };
}

/** Relative frequencies of the kinds of action. */
export const WEIGHTS = {
  tick: 20,
  deliver: 30,
  flush: 12,
  election: 20,
  heartbeat: 2,
  propose: 20,
  drop: 8,
  duplicate: 2,
  hold: 2,
  release: 2,
  partition: 1,
  heal: 2,
  link: 2,
  isolate: 6,
  reconnect: 4,
  crash: 1,
  restart: 8,
  recover: 2,
  snapshot: 6,
  change: 4,
  transfer: 2,
  read: 6,
} as const;

const CHANGES: readonly ChangeOp[] = ['learn', 'promote', 'remove', 'replace', 'grow', 'shrink'];

type ActionKind = keyof typeof WEIGHTS;

/** `ids`: the nodes a history starts with; `joining`: those that may join it (actions on them wait until then). */
export function actionArbitrary(
  ids: readonly NodeId[],
  joining: readonly NodeId[] = [],
): fc.Arbitrary<Action> {
  const node =
    joining.length === 0
      ? fc.constantFrom(...ids)
      : fc.oneof(
          { arbitrary: fc.constantFrom(...ids), weight: 4 },
          { arbitrary: fc.constantFrom(...joining), weight: 1 },
        );
  const leaderOr = (weight: number) =>
    fc.oneof({ arbitrary: fc.constant('leader' as const), weight }, { arbitrary: node, weight: 1 });
  const arbitraries: { readonly [kind in ActionKind]: fc.Arbitrary<Action> } = {
    tick: crashAfter.map((crash) => withCrash({ type: 'tick' }, crash)),
    deliver: fc
      .tuple(messagePosition, crashAfter)
      .map(([message, crash]) => withCrash({ type: 'deliver', message }, crash)),
    flush: fc.constant({ type: 'flush' }),
    election: fc
      .tuple(node, crashAfter)
      .map(([id, crash]) => withCrash({ type: 'fire', node: id, timer: 'election' }, crash)),
    heartbeat: fc
      .tuple(leaderOr(3), crashAfter)
      .map(([id, crash]) => withCrash({ type: 'fire', node: id, timer: 'heartbeat' }, crash)),
    propose: fc
      .tuple(leaderOr(3), crashAfter)
      .map(([id, crash]) => withCrash({ type: 'propose', node: id }, crash)),
    drop: messagePosition.map((message) => ({ type: 'drop', message })),
    duplicate: messagePosition.map((message) => ({ type: 'duplicate', message })),
    hold: messagePosition.map((message) => ({ type: 'hold', message })),
    release: fc.nat(7).map((message) => ({ type: 'release', message })),
    partition: fc
      .array(fc.nat(2), { minLength: ids.length, maxLength: ids.length })
      .map((groups) => ({ type: 'partition', groups })),
    heal: fc.constant({ type: 'heal' }),
    link: fc.tuple(node, node, fc.boolean()).map(([from, to, up]) => ({ type: 'link', from, to, up })),
    isolate: leaderOr(3).map((id) => ({ type: 'connect', node: id, up: false })),
    reconnect: node.map((id) => ({ type: 'connect', node: id, up: true })),
    crash: leaderOr(3).map((id) => ({ type: 'crash', node: id })),
    restart: leaderOr(1).map((id) => ({ type: 'restart', node: id })),
    recover: fc.constant({ type: 'recover' }),
    snapshot: fc
      .tuple(leaderOr(1), fc.oneof(fc.constant(0), fc.nat(20)), crashAfter)
      .map(([id, back, crash]) => withCrash({ type: 'snapshot', node: id, back }, crash)),
    change: fc
      .tuple(leaderOr(8), fc.constantFrom(...CHANGES), fc.nat(7))
      .map(([id, op, pick]) => ({ type: 'change', node: id, op, pick })),
    transfer: fc.tuple(leaderOr(8), fc.nat(7)).map(([id, pick]) => ({ type: 'transfer', node: id, pick })),
    read: fc
      .tuple(leaderOr(1), crashAfter)
      .map(([id, crash]) => withCrash({ type: 'read', node: id }, crash)),
  };
  const kinds = Object.keys(WEIGHTS) as ActionKind[];
  return fc.oneof(...kinds.map((kind) => ({ weight: WEIGHTS[kind], arbitrary: arbitraries[kind] })));
}

export function scenarioArbitrary(size: number): fc.Arbitrary<Scenario> {
  return fc.record({
    size: fc.constant(size),
    config: configArbitrary,
    actions: fc.array(actionArbitrary(nodeIds(size), nodeIds(size + MAX_JOINS).slice(size)), {
      maxLength: MAX_ACTIONS,
      size: 'max',
    }),
  });
}
