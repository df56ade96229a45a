/** A broken safety or liveness property, named so that tests, traces and replay can say which one. */
export type PropertyName =
  | 'election safety'
  | 'leader append-only'
  | 'log matching'
  | 'leader completeness'
  | 'state machine safety'
  | 'commit index monotonic'
  | 'commit index within a majority'
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
