/** A broken safety or liveness property, named so that tests, traces and replay can say which one. */
export type PropertyName =
  | 'election safety'
  | 'leader append-only'
  | 'log matching'
  | 'leader completeness'
  | 'state machine safety'
  | 'commit index monotonic'
  | 'commit index within a majority'
  /** Every snapshot stands for the committed log through its index (checks/snapshots.ts). */
  | 'snapshots'
  /** A read answered as ready sees every entry committed before it began (checks/reads.ts). */
  | 'linearizable reads'
  /** Every read gets one answer, ready or failed, unless its node crashes (checks/reads.ts). */
  | 'one answer per read'
  /** A leader that everyone else hears is not deposed by a node that rejoins (rejoin.ts). */
  | 'no disruption on rejoin'
  | 'liveness'
  /** The reducer threw (an internal invariant, or a malformed effect the cluster refused). */
  | 'no exception';

export class PropertyViolation extends Error {
  override readonly name = 'PropertyViolation';

  constructor(
    readonly property: PropertyName,
    detail: string,
  ) {
    super(`${property}: ${detail}`);
  }
}
