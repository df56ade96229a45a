/**
 * Deliberately broken reducers, each a thin wrapper around the real `init`/`step`, to prove that the
 * properties have teeth: every one of them must be caught by the random histories. Named, so that a trace
 * can say which reducer it ran.
 */
import { produce } from 'immer';
import { type Effect, type Event, init, logOf, type RaftState, status, step } from '../src/core/index.js';
import type { Reducer } from '../src/runtime/simulator/index.js';
import type { Command } from './scenario.js';

type State = RaftState<Command>;
type Effects = readonly Effect<Command>[];

/** Wraps the real step: `before` may rewrite the event, `after` the resulting transition. */
function wrapStep(
  before: (event: Event<Command>) => Event<Command>,
  after: (state: State, effects: Effects) => readonly [State, Effects],
): Reducer<Command> {
  return {
    init,
    step: (state, event) => {
      const [next, effects] = step(state, before(event));
      return after(next, effects);
    },
  };
}

const sameEvent = (event: Event<Command>): Event<Command> => event;

/**
 * Counts replicas for entries of any term (no §5.4.2 current-term rule): the Figure 8 bug. After every
 * leader transition, commit (and apply) whatever a majority's `progress.match` covers.
 */
const commitsEarlierTerms = wrapStep(sameEvent, (state, effects) => {
  const { role, id, commitIndex } = status(state);
  if (role !== 'leader') return [state, effects];
  const voters = status(state).membership.voters;
  const matches = voters
    .map((voter) => (voter === id ? logOf(state).lastIndex : (state.progress.get(voter)?.match ?? 0)))
    .sort((a, b) => b - a);
  const majorityMatch = matches[Math.floor(voters.length / 2)]!;
  if (majorityMatch <= commitIndex) return [state, effects];
  const applied = state.appliedIndex;
  const next = produce(state, (draft) => {
    draft.commitIndex = majorityMatch;
    draft.appliedIndex = majorityMatch;
  });
  const apply: Effect<Command> = { type: 'apply', entries: logOf(state).slice(applied + 1, majorityMatch) };
  return [next, [...effects, apply]];
});

/** Grants votes to any log (no §5.4.1 election restriction): every candidate claims the most up-to-date log. */
const votesForAnyLog = wrapStep(
  (event) =>
    event.type === 'receive' && (event.message.type === 'RequestVote' || event.message.type === 'PreVote')
      ? {
          ...event,
          message: {
            ...event.message,
            lastLogIndex: Number.MAX_SAFE_INTEGER,
            lastLogTerm: event.message.term,
          },
        }
      : event,
  (state, effects) => [state, effects],
);

/** Sends before persisting: a vote or an acknowledgement can leave before the state it promises is on disk. */
const sendsBeforePersisting = wrapStep(sameEvent, (state, effects) => [
  state,
  [
    ...effects.filter((effect) => effect.type === 'send'),
    ...effects.filter((effect) => effect.type !== 'send'),
  ],
]);

/** Persists the term but never whom it voted for: after a restart it can vote twice in one term. */
const forgetsVotedFor = wrapStep(sameEvent, (state, effects) => [
  state,
  effects.map((effect) =>
    effect.type === 'persist' && effect.hardState !== undefined
      ? { ...effect, hardState: { ...effect.hardState, votedFor: null } }
      : effect,
  ),
]);

/** Safe but useless: leaders never hear that followers caught up, so nothing commits. For liveness. */
const ignoresAcks: Reducer<Command> = {
  init,
  step: (state, event) =>
    event.type === 'receive' && event.message.type === 'AppendEntriesResponse'
      ? [state, []]
      : step(state, event),
};

/** Each breaks safety, except `ignores-acks`, which breaks liveness only. */
export const MUTANTS = {
  'commits-earlier-terms': commitsEarlierTerms,
  'votes-for-any-log': votesForAnyLog,
  'sends-before-persisting': sendsBeforePersisting,
  'forgets-voted-for': forgetsVotedFor,
  'ignores-acks': ignoresAcks,
} as const satisfies Record<string, Reducer<Command>>;

export type MutantName = keyof typeof MUTANTS;

export function isMutantName(name: string): name is MutantName {
  return Object.hasOwn(MUTANTS, name);
}
