import { type Draft, freeze } from 'immer';
import type { RaftLog } from './log.js';
import type { Configs } from './membership.js';
import type { Tracker } from './progress.js';
import type { RaftState, Settings } from './types.js';

/**
 * A RaftState as handlers see it inside `step`: an immer draft, except that the log, the configurations and
 * the settings and the progress tracker are immutable values that handlers replace whole (the log is a persistent structure immer never
 * proxies; see log.ts; the configurations change rarely, through membership.ts's pure functions).
 */
export type StateDraft<C> = Omit<Draft<RaftState<C>>, 'log' | 'settings' | 'configs' | 'progress'> & {
  log: RaftLog<C>;
  configs: Configs;
  progress: Tracker;
  readonly settings: Settings;
};

/**
 * What `produce(base, recipe)` gives, for a recipe that only assigns the state's own fields and never changes a
 * value they hold in place: a shallow copy with the changes, frozen (and what was assigned deep-frozen, as immer
 * does), or `base` itself when nothing changed. Without a draft, every read is a plain property read rather than
 * a proxy trap; it is kept for the events a replicating cluster handles most (raft.ts, `changesOnlyFields`).
 * A recipe that broke the rule would throw: every array and object a state holds is frozen.
 */
export function produceByHand<C>(base: RaftState<C>, recipe: (s: StateDraft<C>) => void): RaftState<C> {
  const copy = { ...base } as unknown as StateDraft<C>;
  recipe(copy);
  let changed = false;
  for (const key in copy) {
    const value = copy[key as keyof StateDraft<C>];
    if (value !== base[key as keyof RaftState<C>]) {
      changed = true;
      freeze(value, true);
    }
  }
  return changed ? Object.freeze(copy as unknown as RaftState<C>) : base;
}
