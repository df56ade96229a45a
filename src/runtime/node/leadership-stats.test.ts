/** The leadership counters, derived from transitions, on histories the core's own tests build. */
import { describe, expect, it } from 'vitest';
import {
  type Cmd,
  durable,
  follower,
  receive,
  THESIS,
  timeout,
  VOTERS5,
  voteResponse,
} from '../../../test/support/core.js';
import { type Event, type RaftState, status, step } from '../../core/index.js';
import { LeadershipCounter } from './leadership-stats.js';

/** Steps `state` through `events`, every transition observed by `counter`. */
function observed(counter: LeadershipCounter, state: RaftState<Cmd>, events: readonly Event<Cmd>[]) {
  for (const event of events) {
    const [next] = step(state, event);
    counter.observe(event, state, next);
    state = next;
  }
  return state;
}

const preVoteGrant = (from: string, term: number): Event<Cmd> =>
  receive({ type: 'PreVoteResponse', term, from, to: 'a', voteGranted: true });

describe('LeadershipCounter', () => {
  it('a lone voter wins its pre-vote and its election in one step: one of each, no pre-vote lost', () => {
    const counter = new LeadershipCounter('a');
    const state = observed(counter, follower('a', durable(1), THESIS, ['a']), [timeout('election')]);
    expect(status(state).role).toBe('leader');
    expect(counter.stats).toMatchObject({
      preVotesStarted: 1,
      preVotesLost: 0,
      electionsStarted: 1,
      leaderChanges: 1,
    });
  });

  it('a pre-vote cut short by the late votes of the candidacy before it is lost; the leader change counts', () => {
    const counter = new LeadershipCounter('a');
    const state = observed(counter, follower('a', durable(3), THESIS, VOTERS5), [
      timeout('election'),
      preVoteGrant('b', 4),
      preVoteGrant('c', 4),
      // The candidacy in term 4 times out: a second pre-vote starts, and the first's votes arrive.
      timeout('election'),
      receive(voteResponse('b', 'a', 4, true)),
      receive(voteResponse('c', 'a', 4, true)),
    ]);
    expect(status(state)).toMatchObject({ role: 'leader', term: 4 });
    expect(counter.stats).toMatchObject({
      preVotesStarted: 2,
      preVotesLost: 1,
      electionsStarted: 1,
      leaderChanges: 1,
    });
  });
});
