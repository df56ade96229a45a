/** Replays a recorded trace through the pure reducer and checks each transition against the recording. */
import { type Effect, type Event, init, type RaftState, step } from '../../core/index.js';
import { type Trace, transitionDigest } from './trace.js';

export interface ReplayedStep<C> {
  /** 0 for `init`, then 1, 2, ... for each event. */
  readonly position: number;
  /** The event stepped, or undefined for `init`. */
  readonly event: Event<C> | undefined;
  readonly state: RaftState<C>;
  readonly effects: readonly Effect<C>[];
  /** Whether this transition produced exactly what the recording says. */
  readonly matched: boolean;
}

/** Yields `init` and then each event's transition, in order. */
export function* replay<C>(trace: Trace<C>): Generator<ReplayedStep<C>> {
  let [state, effects] = init(trace.start.config, trace.start.durable);
  yield {
    position: 0,
    event: undefined,
    state,
    effects,
    matched: transitionDigest(state, effects) === trace.start.digest,
  };
  for (const [index, recorded] of trace.events.entries()) {
    [state, effects] = step(state, recorded.event);
    const matched = transitionDigest(state, effects) === recorded.digest;
    yield { position: index + 1, event: recorded.event, state, effects, matched };
  }
}
