/**
 * pureraft's core: Raft as a pure reducer. This module is the public face described in CONTRACT.md.
 */

export { InvariantError, invariant } from './invariant.js';
export type { LogPosition } from './log.js';
export { isLearner, isVoter, whyChangeInvalid, whyMembershipMalformed } from './membership.js';
export type { Transition } from './raft.js';
export { CHECK_QUORUM_TIMER, ELECTION_TIMER, init, status, step, TRANSFER_TIMER } from './raft.js';
export { LEASE_TIMER } from './reads.js';
export { HEARTBEAT_TIMER } from './replication.js';
export { DEFAULTS, defaultCommandSize, LEASE_CLOCK_DRIFT, leaseDurationOf } from './settings.js';
export type * from './types.js';
export { isWellFormed, whyMalformed } from './wellformed.js';

import type { RaftLog } from './log.js';
import type { Entry, RaftState, Snapshot } from './types.js';

/** A read-only view of a node's log, for checkers, tests and tools. */
export interface LogView<C> {
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** The latest snapshot, which the entries before `firstIndex` were compacted into; null when none. */
  readonly snapshot: Snapshot | null;
  entry(index: number): Entry<C> | undefined;
  term(index: number): number | undefined;
  slice(from: number, to?: number): Entry<C>[];
}

export function logOf<C>(state: RaftState<C>): LogView<C> {
  const log: RaftLog<C> = state.log;
  return log;
}
