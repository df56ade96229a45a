import { type Draft, freeze } from 'immer';
import type { RaftLog } from './log.js';
import type { Configs } from './membership.js';
import type { Tracker } from './progress.js';
import type { RaftState, Settings } from './types.js';

/**
 * A RaftState as handlers see it inside `step`: an immer draft (or the copy made by hand below, for the events
 * of steady replication), except that the log, the configurations, the settings and the progress tracker are
 * immutable values that handlers replace whole (the log is a persistent structure immer never proxies; see
 * log.ts; the configurations change rarely, through membership.ts's pure functions; the tracker, progress.ts).
 */
export type StateDraft<C> = Omit<Draft<RaftState<C>>, 'log' | 'settings' | 'configs' | 'progress'> & {
  log: RaftLog<C>;
  configs: Configs;
  progress: Tracker;
  readonly settings: Settings;
};

/**
 * What `produce(base, recipe)` gives, for a recipe that only assigns the state's own fields and never changes a
 * value they hold in place, made by hand: `copyByHand`, the recipe on the copy, then `finishByHand`. The result
 * is a shallow copy with the changes, frozen (and what was assigned deep-frozen, as immer does), or `base`
 * itself when nothing changed. Without a draft, every read is a plain property read rather than a proxy trap;
 * raft.ts keeps this for the events a replicating cluster handles most (`changesOnlyFields`). A recipe that broke
 * the rule would throw: every array and object a state holds is frozen.
 */
export function copyByHand<C>(base: RaftState<C>): StateDraft<C> {
  // Field by field rather than a spread: one object shape that V8 builds in place, measured faster (a field
  // added to RaftState and left out here fails to compile).
  const copy: RaftState<C> = {
    settings: base.settings,
    role: base.role,
    term: base.term,
    votedFor: base.votedFor,
    leaderId: base.leaderId,
    log: base.log,
    configs: base.configs,
    commitIndex: base.commitIndex,
    appliedIndex: base.appliedIndex,
    rng: base.rng,
    votesGranted: base.votesGranted,
    votesRefused: base.votesRefused,
    candidacyGrants: base.candidacyGrants,
    progress: base.progress,
    transferee: base.transferee,
    round: base.round,
    pendingReads: base.pendingReads,
    leaseRound: base.leaseRound,
    leaseForfeited: base.leaseForfeited,
    votesWithheld: base.votesWithheld,
  };
  return copy as unknown as StateDraft<C>;
}

export function finishByHand<C>(base: RaftState<C>, copy: StateDraft<C>): RaftState<C> {
  const next = copy as unknown as RaftState<C>;
  // The state's only values immer would draft (and so freeze) are its arrays; the rest are primitives and the
  // immutable classes (log, configurations, tracker, settings) that immer leaves alone.
  const arraysChanged =
    freezeIfNew(next.votesGranted, base.votesGranted) |
    freezeIfNew(next.votesRefused, base.votesRefused) |
    freezeIfNew(next.candidacyGrants, base.candidacyGrants) |
    freezeIfNew(next.pendingReads, base.pendingReads);
  // Field by field, like the copy (draft.test.ts checks that a change to any field is seen).
  const changed =
    arraysChanged !== 0 ||
    next.role !== base.role ||
    next.term !== base.term ||
    next.votedFor !== base.votedFor ||
    next.leaderId !== base.leaderId ||
    next.log !== base.log ||
    next.configs !== base.configs ||
    next.commitIndex !== base.commitIndex ||
    next.appliedIndex !== base.appliedIndex ||
    next.rng !== base.rng ||
    next.progress !== base.progress ||
    next.transferee !== base.transferee ||
    next.round !== base.round ||
    next.leaseRound !== base.leaseRound ||
    next.leaseForfeited !== base.leaseForfeited ||
    next.votesWithheld !== base.votesWithheld ||
    next.settings !== base.settings;
  return changed ? Object.freeze(next) : base;
}

/** 1 (and the new array deep-frozen) if `array` replaced `before`, else 0. */
function freezeIfNew(array: readonly unknown[], before: readonly unknown[]): number {
  if (array === before) return 0;
  freeze(array, true);
  return 1;
}
