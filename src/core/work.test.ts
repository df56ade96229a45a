/**
 * A transition's work does not grow with the log. Counted, not timed: the entries a transition reads from the
 * log's store (every read goes through `ChunkStore.at`), writes to it (`push`) and copies (`range`: the chunk
 * directory and the partial chunk), and the entries it hands out (`RaftLog.slice`), for the same transition on
 * a log of 100 entries and on one of 20,000. Only a conflict search may grow, and only as the logarithm of the
 * log's length.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  append,
  appendOk,
  appendRejected,
  durable,
  entries,
  follower,
  leader,
  propose,
  receive,
  run,
  timeout,
  voteRequest,
} from '../../test/support/core.js';
import type { Event, RaftState } from './index.js';
import { ChunkStore, RaftLog } from './log.js';

type State = RaftState<string>;

const SMALL = 100;
const LARGE = 20_000;

afterEach(() => {
  vi.restoreAllMocks();
});

/** Entries of term 1 through `length`. */
const log = (length: number) => entries(...Array.from({ length }, () => 1));

/** Entries read, written, copied and handed out while `state` steps `event`. */
function workOf(state: State, event: Event<string>): number {
  const at = vi.spyOn(ChunkStore.prototype, 'at');
  const push = vi.spyOn(ChunkStore.prototype, 'push');
  const range = vi.spyOn(ChunkStore.prototype, 'range');
  const slice = vi.spyOn(RaftLog.prototype, 'slice');
  run(state, event);
  const returned = <T>(
    spy: { mock: { results: { type: string; value: T }[] } },
    size: (value: T) => number,
  ) => spy.mock.results.reduce((sum, result) => sum + (result.type === 'return' ? size(result.value) : 0), 0);
  const copied = returned(
    range,
    (store) => store.chunks.length + store.chunks[store.chunks.length - 1]!.length,
  );
  const handedOut = returned(slice, (entries) => entries.length);
  const work = at.mock.calls.length + push.mock.calls.length + copied + handedOut;
  vi.restoreAllMocks();
  return work;
}

/** A leader of term 2 over `length` entries, every follower caught up through its no-op. */
function caughtUpLeader(length: number): State {
  const elected = leader('a', durable(1, log(length)));
  const noop = length + 1;
  return run(elected, receive(appendOk('b', 'a', 2, noop)), receive(appendOk('c', 'a', 2, noop)))[0];
}

/** A leader with 64 proposals in flight to both followers, unacknowledged. */
function busyLeader(length: number): State {
  let state = caughtUpLeader(length);
  for (let i = 0; i < 64; i++) state = run(state, propose(`p${i}`))[0];
  return state;
}

function sameWork(transition: (length: number) => [State, Event<string>]): void {
  const small = workOf(...transition(SMALL));
  const large = workOf(...transition(LARGE));
  // The counting sees the log at all (every one of these transitions reads an entry's term at least).
  expect(small).toBeGreaterThan(0);
  expect({ small, large }).toEqual({ small, large: small });
}

describe('a transition reads a bounded number of entries, whatever the log’s length', () => {
  it('a leader: propose, an acknowledgement, a heartbeat, with nothing and with 64 appends in flight', () => {
    sameWork((n) => [caughtUpLeader(n), propose('x')]);
    sameWork((n) => [busyLeader(n), propose('x')]);
    sameWork((n) => [busyLeader(n), receive(appendOk('b', 'a', 2, n + 1 + 64))]);
    sameWork((n) => [busyLeader(n), receive(appendOk('b', 'a', 2, n + 1 + 32))]);
    sameWork((n) => [busyLeader(n), timeout('heartbeat')]);
    sameWork((n) => [caughtUpLeader(n), timeout('heartbeat')]);
  });

  it('a follower: an append of one entry with a commit, a heartbeat, a vote request', () => {
    // A follower that has applied its whole log already (a restart applies it once: that is not this).
    const caughtUp = (n: number) =>
      run(follower('b', durable(1, log(n))), receive(append('a', 'b', 1, n, 1, [], n)))[0];
    const one = (n: number) => [{ index: n + 1, term: 1, kind: 'command' as const, command: 'y' }];
    sameWork((n) => [caughtUp(n), receive(append('a', 'b', 1, n, 1, one(n), n + 1))]);
    sameWork((n) => [caughtUp(n), receive(append('a', 'b', 1, n, 1, [], n))]);
    sameWork((n) => [caughtUp(n), receive(voteRequest('c', 'b', 2, n, 1))]);
  });

  it('a conflict search grows with the logarithm of the log only', () => {
    const conflict = (n: number): [State, Event<string>] => [
      caughtUpLeader(n),
      // c's log holds a term the leader never had: the leader looks for its last entry of that term.
      receive(appendRejected('c', 'a', 2, n + 1, 1, n - 1)),
    ];
    const small = workOf(...conflict(SMALL));
    const large = workOf(...conflict(LARGE));
    expect(large - small).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(LARGE / SMALL)));
  });
});
