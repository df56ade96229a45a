import type { Draft } from 'immer';
import type { RaftLog } from './log.js';
import type { Configs } from './membership.js';
import type { RaftState, Settings } from './types.js';

/**
 * A RaftState as handlers see it inside `step`: an immer draft, except that the log, the configurations and
 * the settings are immutable values that handlers replace whole (the log is a persistent structure immer never
 * proxies; see log.ts; the configurations change rarely, through membership.ts's pure functions).
 */
export type StateDraft<C> = Omit<Draft<RaftState<C>>, 'log' | 'settings' | 'configs'> & {
  log: RaftLog<C>;
  configs: Configs;
  readonly settings: Settings;
};
