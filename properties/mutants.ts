/**
 * Deliberately broken reducers, each a thin wrapper around the real `init`/`step`, to prove that the
 * properties have teeth: every one of them must be caught by the random histories. Named, so that a trace
 * can say which reducer it ran.
 */
import { produce } from 'immer';
import {
  type Effect,
  type Entry,
  type Event,
  init,
  logOf,
  type Message,
  type RaftState,
  status,
  step,
} from '../src/core/index.js';
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

/**
 * Grants votes (and pre-votes) to any log (no §5.4.1 election restriction): every candidate claims the most
 * up-to-date log.
 */
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

/**
 * Installs a snapshot from its leader even when it is not past its commit index (contract 12 says such a one
 * is answered and changes nothing): the node forgets how far it had committed, and its service goes back to
 * the snapshot's state, to apply the entries after it a second time.
 */
const installsOlderSnapshots: Reducer<Command> = {
  init,
  step: (state, event) => {
    const message = event.type === 'receive' ? event.message : undefined;
    if (message?.type !== 'InstallSnapshot') return step(state, event);
    const { index } = message.snapshot.meta;
    const { commitIndex, snapshotIndex } = status(state);
    if (index > commitIndex || index <= snapshotIndex) return step(state, event);
    const forgetful = produce(state, (draft) => {
      draft.commitIndex = snapshotIndex;
      draft.appliedIndex = snapshotIndex;
    });
    return step(forgetful, event);
  },
};

/**
 * Compacts through everything it applied, whatever index the service captured its state at: the snapshot's
 * meta then claims more than its data holds.
 */
const compactsToApplied: Reducer<Command> = {
  init,
  step: (state, event) =>
    step(state, event.type === 'snapshot' ? { ...event, index: state.appliedIndex } : event),
};

/**
 * Switches configurations without the joint phase (§6): on changeMembership a leader appends the new
 * configuration itself, so the old and the new majorities can decide apart.
 */
const skipsJointConsensus: Reducer<Command> = {
  init,
  step: (state, event) => {
    const [next, effects] = step(state, event);
    const last = logOf(next).entry(logOf(next).lastIndex);
    if (event.type !== 'changeMembership' || last?.membership?.outgoing === undefined) return [next, effects];
    const { outgoing: _, ...final } = last.membership;
    const direct: Entry<Command> = { ...last, membership: final };
    const patched: State = {
      ...next,
      log: next.log.truncateFrom(direct.index).append([direct]),
      configs: next.configs.withTruncated(direct.index).withAppended([direct]),
    };
    return [patched, effects.map((effect) => withEntry(effect, direct))];
  },
};

/** The effect with `entry` in place of the entry of the same index in the entries it carries. */
function withEntry(effect: Effect<Command>, entry: Entry<Command>): Effect<Command> {
  const swap = (entries: readonly Entry<Command>[]) =>
    entries.map((each) => (each.index === entry.index ? entry : each));
  if (effect.type === 'persist' && effect.entries !== undefined) {
    return { ...effect, entries: swap(effect.entries) };
  }
  if (effect.type === 'send' && effect.message.type === 'AppendEntries') {
    const message: Message<Command> = { ...effect.message, entries: swap(effect.message.entries) };
    return { ...effect, message };
  }
  return effect;
}

/**
 * Answers reads at once on a leader, with its commit index, with no round of confirmation (ReadIndex without
 * the "read index" part): a deposed leader that does not know it yet, or a new one that has not committed an
 * entry of its term, answers from a stale state.
 */
const readsWithoutConfirmation: Reducer<Command> = {
  init,
  step: (state, event) => {
    const { role, commitIndex } = status(state);
    if (event.type !== 'read' || role !== 'leader') return step(state, event);
    return [state, [{ type: 'readReady', id: event.id, index: commitIndex }]];
  },
};

/**
 * Answers an append or a snapshot of an earlier term with the request's confirmation round (ReadIndex, thesis
 * §6.4) rather than none: if the request's sender has been elected again in the term the answer carries, it
 * takes the old answer as a fresh acknowledgement of a round of its new leadership, and may answer a read on it.
 */
const echoesStaleRounds: Reducer<Command> = {
  init,
  step: (state, event) => {
    const [after, effects] = step(state, event);
    if (event.type !== 'receive') return [after, effects];
    const request = event.message;
    if (request.type !== 'AppendEntries' && request.type !== 'InstallSnapshot') return [after, effects];
    if (request.term >= status(state).term) return [after, effects];
    return [
      after,
      effects.map((effect) =>
        effect.type === 'send' &&
        (effect.message.type === 'AppendEntriesResponse' || effect.message.type === 'InstallSnapshotResponse')
          ? { ...effect, message: { ...effect.message, round: request.round } }
          : effect,
      ),
    ];
  },
};

/** Campaigns without asking first (no pre-vote, thesis §9.6), whatever its config says. For rejoin. */
const withoutPreVote: Reducer<Command> = {
  init: (config, durable) => init({ ...config, preVote: false }, durable),
  step,
};

/** Safe but useless: leaders never hear that followers caught up, so nothing commits. For liveness. */
const ignoresAcks: Reducer<Command> = {
  init,
  step: (state, event) =>
    event.type === 'receive' && event.message.type === 'AppendEntriesResponse'
      ? [state, []]
      : step(state, event),
};

/** Each breaks safety, except `ignores-acks`, which breaks liveness only, and `without-pre-vote`, rejoin. */
export const MUTANTS = {
  'commits-earlier-terms': commitsEarlierTerms,
  'votes-for-any-log': votesForAnyLog,
  'sends-before-persisting': sendsBeforePersisting,
  'forgets-voted-for': forgetsVotedFor,
  'installs-older-snapshots': installsOlderSnapshots,
  'compacts-to-applied': compactsToApplied,
  'skips-joint-consensus': skipsJointConsensus,
  'reads-without-confirmation': readsWithoutConfirmation,
  'echoes-stale-rounds': echoesStaleRounds,
  'without-pre-vote': withoutPreVote,
  'ignores-acks': ignoresAcks,
} as const satisfies Record<string, Reducer<Command>>;

export type MutantName = keyof typeof MUTANTS;

export function isMutantName(name: string): name is MutantName {
  return Object.hasOwn(MUTANTS, name);
}
