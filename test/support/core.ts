/**
 * Helpers for the core's tests: build nodes in a given role by driving the real reducer, craft messages,
 * and pick effects apart. Tests feed events and compare effects, with no mocks (Elm style).
 */
import {
  type AppendEntries,
  type AppendEntriesResponse,
  type Config,
  type Durable,
  type Effect,
  type Entry,
  type Event,
  init,
  type Message,
  type RaftState,
  type RequestVote,
  type RequestVoteResponse,
  status,
  step,
} from '../../src/core/index.js';
import { Cluster } from '../../src/runtime/simulator/index.js';

export type Cmd = string;
export const VOTERS3 = ['a', 'b', 'c'] as const;
export const VOTERS5 = ['a', 'b', 'c', 'd', 'e'] as const;

/**
 * The paper's Raft (Figure 2): no pre-vote, no check-quorum, so that the §5 tests read like the paper. The
 * thesis's extensions, on by default in the core, have tests of their own that run with the defaults.
 */
export const PAPER: Partial<Config> = { preVote: false, checkQuorum: false };
/** The core's defaults: pre-vote and check-quorum on. */
export const THESIS: Partial<Config> = { preVote: true, checkQuorum: true };

export function config(id: string, voters: readonly string[] = VOTERS3, extra: Partial<Config> = {}): Config {
  return {
    id,
    voters,
    electionTimeout: [150, 300],
    heartbeatInterval: 50,
    seed: voters.indexOf(id) + 1,
    ...PAPER,
    ...extra,
  };
}

export function entry(index: number, term: number, command?: Cmd): Entry<Cmd> {
  return command === undefined ? { index, term, kind: 'noop' } : { index, term, kind: 'command', command };
}

/** Entries 1..terms.length with the given terms. */
export function entries(...terms: number[]): Entry<Cmd>[] {
  return terms.map((term, i) => entry(i + 1, term, `x${i + 1}`));
}

export function durable(term: number, log: Entry<Cmd>[] = [], votedFor: string | null = null): Durable<Cmd> {
  return { hardState: { term, votedFor }, entries: log };
}

/** A node as it restarts from `durable`: a follower. */
export function follower(
  id = 'a',
  from?: Durable<Cmd>,
  extra: Partial<Config> = {},
  voters: readonly string[] = VOTERS3,
) {
  return init<Cmd>(config(id, voters, extra), from)[0];
}

export function run(state: RaftState<Cmd>, ...events: Event<Cmd>[]): [RaftState<Cmd>, Effect<Cmd>[]] {
  let current = state;
  let all: Effect<Cmd>[] = [];
  for (const event of events) {
    const [next, effects] = step(current, event);
    current = next;
    all = [...all, ...effects];
  }
  return [current, all];
}

export const timeout = (timer: string): Event<Cmd> => ({ type: 'timeout', timer });
export const receive = (message: Message<Cmd>): Event<Cmd> => ({ type: 'receive', message });
export const propose = (command: Cmd): Event<Cmd> => ({ type: 'propose', command });

/** A candidate: `id` timed out once. */
export function candidate(
  id = 'a',
  from?: Durable<Cmd>,
  extra: Partial<Config> = {},
  voters: readonly string[] = VOTERS3,
) {
  return run(follower(id, from, extra, voters), timeout('election'))[0];
}

/** A leader: `id` timed out and every other voter granted its vote. */
export function leader(
  id = 'a',
  from?: Durable<Cmd>,
  extra: Partial<Config> = {},
  voters: readonly string[] = VOTERS3,
) {
  let state = candidate(id, from, extra, voters);
  for (const voter of voters) {
    if (voter === id || status(state).role === 'leader') continue;
    state = run(state, receive(voteResponse(voter, id, status(state).term, true)))[0];
  }
  return state;
}

export function sendsOf(effects: readonly Effect<Cmd>[]): Message<Cmd>[] {
  return effects.flatMap((effect) => (effect.type === 'send' ? [effect.message] : []));
}

export function appendsOf(effects: readonly Effect<Cmd>[]): AppendEntries<Cmd>[] {
  return sendsOf(effects).filter((m): m is AppendEntries<Cmd> => m.type === 'AppendEntries');
}

export function ofType<T extends Effect<Cmd>['type']>(effects: readonly Effect<Cmd>[], type: T) {
  return effects.filter((effect): effect is Extract<Effect<Cmd>, { type: T }> => effect.type === type);
}

export function voteRequest(
  from: string,
  to: string,
  term: number,
  lastLogIndex = 0,
  lastLogTerm = 0,
): RequestVote {
  return { type: 'RequestVote', term, from, to, lastLogIndex, lastLogTerm, transfer: false };
}

export function voteResponse(
  from: string,
  to: string,
  term: number,
  voteGranted: boolean,
): RequestVoteResponse {
  return { type: 'RequestVoteResponse', term, from, to, voteGranted };
}

export function append(
  from: string,
  to: string,
  term: number,
  prevLogIndex: number,
  prevLogTerm: number,
  sent: Entry<Cmd>[] = [],
  leaderCommit = 0,
): AppendEntries<Cmd> {
  return {
    type: 'AppendEntries',
    term,
    from,
    to,
    prevLogIndex,
    prevLogTerm,
    entries: sent,
    leaderCommit,
    round: 0,
  };
}

export function appendOk(from: string, to: string, term: number, index: number): AppendEntriesResponse {
  return {
    type: 'AppendEntriesResponse',
    term,
    from,
    to,
    success: true,
    index,
    conflictTerm: 0,
    conflictIndex: 0,
    round: 0,
  };
}

export function appendRejected(
  from: string,
  to: string,
  term: number,
  index: number,
  conflictTerm: number,
  conflictIndex: number,
): AppendEntriesResponse {
  return {
    type: 'AppendEntriesResponse',
    term,
    from,
    to,
    success: false,
    index,
    conflictTerm,
    conflictIndex,
    round: 0,
  };
}

/** A cluster under the tests' full control: no clock runs unless a test moves it. */
export function cluster(
  ids: readonly string[] = VOTERS3,
  durables: Record<string, Durable<Cmd>> = {},
  extra: Partial<Config> = {},
) {
  const made = new Cluster<Cmd>({ ids, config: (id) => config(id, ids, extra) });
  // The Cluster starts empty nodes; give each the durable state the test asked for, then restart it.
  for (const [id, state] of Object.entries(durables)) {
    made.node(id).durable.apply({ type: 'persist', hardState: state.hardState, entries: state.entries });
    made.restart(id);
  }
  return made;
}

/** Delivers every message in flight, and those they cause, in send order; no timer fires. */
export function settle(
  made: Cluster<Cmd>,
  keep: (message: Message<Cmd>) => boolean = () => true,
  limit = 1_000_000,
): number {
  let delivered = 0;
  for (let next = made.nextToArrive(); next !== undefined && delivered < limit; next = made.nextToArrive()) {
    if (keep(next.message)) made.deliver(next);
    else made.drop(next);
    delivered++;
  }
  return delivered;
}

export function elect(made: Cluster<Cmd>, id: string): void {
  made.fire(id, 'election');
  settle(made);
}
