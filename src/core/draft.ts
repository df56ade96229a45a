import type { Draft } from 'immer';
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
