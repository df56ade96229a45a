import type { Draft } from 'immer';
import type { RaftLog } from './log.js';
import type { RaftState, Settings } from './types.js';

/**
 * A RaftState as handlers see it inside `step`: an immer draft, except that the log and settings are plain
 * immutable values (the log is a persistent structure immer never proxies; see log.ts).
 */
export type StateDraft<C> = Omit<Draft<RaftState<C>>, 'log' | 'settings'> & {
  log: RaftLog<C>;
  readonly settings: Settings;
};
