/**
 * Leadership in production (Ongaro's thesis): pre-vote (§9.6), check-quorum (§6.2), leader stickiness
 * (§4.2.3), leadership transfer (§3.10); and the liveness traps etcd hit when pre-vote and check-quorum
 * interact. These run with the core's defaults: pre-vote and check-quorum on.
 */
import { describe, expect, it } from 'vitest';
import {
  append,
  cluster,
  durable,
  elect,
  entries,
  follower,
  ofType,
  propose,
  receive,
  run,
  sendsOf,
  settle,
  THESIS,
  timeout,
  VOTERS5,
  voteRequest,
  voteResponse,
} from '../../test/support/core.js';
import { type Message, type PreVote, status } from './index.js';

const preVote = (from: string, to: string, term: number, lastLogIndex = 0, lastLogTerm = 0): PreVote => ({
  type: 'PreVote',
  term,
  from,
  to,
  lastLogIndex,
  lastLogTerm,
});
const preVoteResponse = (from: string, to: string, term: number, voteGranted: boolean): Message<string> => ({
  type: 'PreVoteResponse',
  term,
  from,
  to,
  voteGranted,
});

describe('thesis §9.6 pre-vote', () => {
  it('a node whose timer fires asks first, without raising its term or persisting anything', () => {
    const [state, effects] = run(follower('a', durable(3, entries(1, 3)), THESIS), timeout('election'));
    expect(status(state)).toMatchObject({ role: 'follower', term: 3, votedFor: null });
    expect(ofType(effects, 'persist')).toEqual([]);
    expect(sendsOf(effects)).toEqual([preVote('a', 'b', 4, 2, 3), preVote('a', 'c', 4, 2, 3)]);
  });

  it('only a pre-vote majority starts the real election', () => {
    const [asking] = run(follower('a', durable(3), THESIS), timeout('election'));
    const [refused] = run(asking, receive(preVoteResponse('b', 'a', 3, false)));
    expect(status(refused).term).toBe(3);
    const [granted, effects] = run(asking, receive(preVoteResponse('b', 'a', 4, true)));
    expect(status(granted)).toMatchObject({ role: 'candidate', term: 4, votedFor: 'a' });
    expect(sendsOf(effects).map((m) => m.type)).toEqual(['RequestVote', 'RequestVote']);
  });

  it('grants with the election restriction, changing nothing; refuses while it hears from a leader', () => {
    const start = follower('b', durable(2, entries(1, 2)), THESIS);
    const [same, granted] = run(start, receive(preVote('a', 'b', 3, 2, 2)));
    expect(same).toBe(start);
    expect(sendsOf(granted)).toEqual([preVoteResponse('b', 'a', 3, true)]);
    const [, stale] = run(start, receive(preVote('a', 'b', 3, 1, 1)));
    expect(sendsOf(stale)).toEqual([preVoteResponse('b', 'a', 2, false)]);
    // A follower that heard from its leader ignores pre-votes until its own election timer fires.
    const [led] = run(start, receive(append('c', 'b', 2, 2, 2)));
    expect(sendsOf(run(led, receive(preVote('a', 'b', 3, 2, 2)))[1])).toEqual([]);
    const [timedOut] = run(led, timeout('election'));
    expect(sendsOf(run(timedOut, receive(preVote('a', 'b', 3, 2, 2)))[1])).toEqual([
      preVoteResponse('b', 'a', 3, true),
    ]);
  });

  it('a pre-vote from a node behind in term is refused with the current term, so that it catches up', () => {
    const [, effects] = run(follower('b', durable(5), THESIS), receive(preVote('a', 'b', 3)));
    expect(sendsOf(effects)).toEqual([preVoteResponse('b', 'a', 5, false)]);
    const [asking] = run(follower('a', durable(2), THESIS), timeout('election'));
    const [caughtUp] = run(asking, receive(preVoteResponse('b', 'a', 5, false)));
    expect(status(caughtUp)).toMatchObject({ role: 'follower', term: 5 });
  });

  it('a partitioned follower rejoins without an election: the leader and its term stay', () => {
    const made = cluster(['a', 'b', 'c'], {}, THESIS);
    elect(made, 'a');
    made.setConnected('c', false);
    for (let i = 0; i < 5; i++) made.fire('c', 'election');
    made.setConnected('c', true);
    made.fire('a', 'heartbeat');
    settle(made);
    expect(status(made.node('a').state!)).toMatchObject({ role: 'leader', term: 1 });
    expect(status(made.node('c').state!)).toMatchObject({ role: 'follower', term: 1, leaderId: 'a' });
  });
});

describe('votes that arrive after the candidacy timed out (long delays)', () => {
  // a (5 voters) wins a pre-vote, campaigns in term 4, and its timer fires before any vote comes back: it is a
  // pre-candidate again, still in term 4 with its vote for itself.
  const timedOutCandidate = () => {
    const [asking] = run(follower('a', durable(3), THESIS, VOTERS5), timeout('election'));
    const [campaigning] = run(
      asking,
      receive(preVoteResponse('b', 'a', 4, true)),
      receive(preVoteResponse('c', 'a', 4, true)),
    );
    expect(status(campaigning)).toMatchObject({ role: 'candidate', term: 4, votedFor: 'a' });
    const [again, effects] = run(campaigning, timeout('election'));
    expect(sendsOf(effects).map((m) => m.type)).toEqual(['PreVote', 'PreVote', 'PreVote', 'PreVote']);
    expect(status(again)).toMatchObject({ term: 4, votedFor: 'a' });
    return again;
  };

  it('a majority of grants for its term, come late, elect the pre-candidate in that term', () => {
    const [one] = run(timedOutCandidate(), receive(voteResponse('b', 'a', 4, true)));
    expect(status(one).role).not.toBe('leader');
    const [elected, effects] = run(one, receive(voteResponse('c', 'a', 4, true)));
    expect(status(elected)).toMatchObject({ role: 'leader', term: 4, votedFor: 'a', leaderId: 'a' });
    expect(ofType(effects, 'persist')).toEqual([
      { type: 'persist', entries: [{ index: 1, term: 4, kind: 'noop' }] },
    ]);
    // Its pre-vote round, still in the air, changes nothing now.
    const [still] = run(elected, receive(preVoteResponse('d', 'a', 5, true)));
    expect(status(still)).toMatchObject({ role: 'leader', term: 4 });
  });

  it('counts each voter once, only grants, and only from voters; a second timeout keeps the count', () => {
    let [state] = run(
      timedOutCandidate(),
      receive(voteResponse('b', 'a', 4, true)),
      receive(voteResponse('b', 'a', 4, true)),
      receive(voteResponse('c', 'a', 4, false)),
      receive(voteResponse('x', 'a', 4, true)),
    );
    expect(status(state).role).not.toBe('leader');
    [state] = run(state, timeout('election'));
    [state] = run(state, receive(voteResponse('d', 'a', 4, true)));
    expect(status(state)).toMatchObject({ role: 'leader', term: 4 });
  });

  it('count for nothing once the node left the candidacy: a leader of its term, or a higher term', () => {
    const [following] = run(timedOutCandidate(), receive(append('b', 'a', 4, 0, 0)));
    const [stillFollowing] = run(
      following,
      receive(voteResponse('c', 'a', 4, true)),
      receive(voteResponse('d', 'a', 4, true)),
      receive(voteResponse('e', 'a', 4, true)),
    );
    expect(status(stillFollowing)).toMatchObject({ role: 'follower', term: 4, leaderId: 'b' });
    const [voted] = run(timedOutCandidate(), receive(voteRequest('b', 'a', 5)));
    const [after] = run(
      voted,
      receive(voteResponse('c', 'a', 5, true)),
      receive(voteResponse('d', 'a', 5, true)),
    );
    expect(status(after)).toMatchObject({ role: 'follower', term: 5 });
  });

  it('a follower whose timer fired, never a candidate in its term, is elected by no stray grant', () => {
    const [asking] = run(follower('a', durable(4, [], 'a'), THESIS, VOTERS5), timeout('election'));
    const [after] = run(
      asking,
      receive(voteResponse('b', 'a', 4, true)),
      receive(voteResponse('c', 'a', 4, true)),
      receive(voteResponse('d', 'a', 4, true)),
    );
    expect(status(after).role).not.toBe('leader');
  });
});

describe('thesis §6.2 check-quorum and §4.2.3 leader stickiness', () => {
  it('a leader that heard from no majority within an election timeout steps down; one that did stays', () => {
    const made = cluster(['a', 'b', 'c'], {}, THESIS);
    elect(made, 'a');
    made.fire('a', 'checkQuorum');
    expect(status(made.node('a').state!).role).toBe('leader');
    made.setConnected('a', false);
    made.fire('a', 'heartbeat');
    made.fire('a', 'checkQuorum');
    expect(status(made.node('a').state!)).toMatchObject({ role: 'follower', term: 1, leaderId: null });
  });

  it('a follower that hears from a live leader ignores vote requests, except a leadership transfer’s', () => {
    const [led] = run(follower('b', durable(1, entries(1)), THESIS), receive(append('a', 'b', 1, 1, 1)));
    const [ignored, none] = run(led, receive(voteRequest('c', 'b', 5, 1, 1)));
    expect(ignored).toBe(led);
    expect(none).toEqual([]);
    const transfer = { ...voteRequest('c', 'b', 5, 1, 1), transfer: true };
    const [voted, effects] = run(led, receive(transfer));
    expect(status(voted)).toMatchObject({ term: 5, votedFor: 'c' });
    expect(sendsOf(effects)).toMatchObject([{ type: 'RequestVoteResponse', voteGranted: true }]);
  });

  it('etcd’s trap 1: a node whose term ran ahead (a lost election) is not shut out forever', () => {
    // c campaigned in vain (say, before pre-vote was on) and holds term 5; a leads term 1 with a majority that
    // ignores c's vote requests. a's heartbeat gets c's refusal with term 5, which deposes a; the next
    // election is of term 6 or later and c's log is caught up by its winner.
    const made = cluster(['a', 'b', 'c'], {}, THESIS);
    elect(made, 'a');
    made.propose('a', 'x');
    settle(made);
    made.node('c').durable.apply({ type: 'persist', hardState: { term: 5, votedFor: 'c' } });
    made.restart('c');
    made.fire('a', 'heartbeat');
    settle(made);
    for (
      let round = 0;
      round < 10 && !['a', 'b', 'c'].some((id) => status(made.node(id).state!).role === 'leader');
      round++
    ) {
      for (const id of ['b', 'a', 'c']) {
        made.fire(id, 'election');
        settle(made);
      }
    }
    const leaderId = ['a', 'b', 'c'].find((id) => status(made.node(id).state!).role === 'leader')!;
    made.propose(leaderId, 'y');
    settle(made);
    made.fire(leaderId, 'heartbeat');
    settle(made);
    const states = ['a', 'b', 'c'].map((id) => status(made.node(id).state!));
    expect(states.every((s) => s.term >= 6 && s.commitIndex === states[0]!.lastIndex)).toBe(true);
  });

  it('etcd’s trap 2: a leader cut off from a majority steps down within two check-quorum periods', () => {
    const made = cluster(['a', 'b', 'c', 'd', 'e'], {}, THESIS);
    elect(made, 'a');
    made.partition([
      ['a', 'b'],
      ['c', 'd', 'e'],
    ]);
    for (let period = 0; period < 2; period++) {
      made.fire('a', 'heartbeat');
      settle(made);
      made.fire('a', 'checkQuorum');
    }
    expect(status(made.node('a').state!).role).toBe('follower');
  });
});

describe('thesis §3.10 leadership transfer (contract 15)', () => {
  /** `to` leads the next term, and `from` follows it, its transfer over. */
  function expectHandedOver(made: ReturnType<typeof cluster>, from: string, to: string) {
    expect(status(made.node(to).state!)).toMatchObject({ role: 'leader', term: 2 });
    expect(status(made.node(from).state!)).toMatchObject({
      role: 'follower',
      transferring: null,
      leaderId: to,
    });
  }

  function leaderOf3() {
    const made = cluster(['a', 'b', 'c'], {}, THESIS);
    elect(made, 'a');
    made.fire('a', 'heartbeat');
    settle(made);
    return made;
  }

  it('a caught-up target is told to campaign at once; it wins without waiting for a timeout', () => {
    const made = leaderOf3();
    const effects = made.step('a', { type: 'transferLeadership', to: 'c' })!;
    expect(sendsOf(effects)).toEqual([{ type: 'TimeoutNow', term: 1, from: 'a', to: 'c' }]);
    expect(status(made.node('a').state!).transferring).toBe('c');
    settle(made);
    expectHandedOver(made, 'a', 'c');
  });

  it('the leader takes no proposals meanwhile, and takes them again when the transfer times out', () => {
    const made = leaderOf3();
    made.setConnected('c', false);
    made.step('a', { type: 'transferLeadership', to: 'c' });
    const before = status(made.node('a').state!).lastIndex;
    made.propose('a', 'refused');
    expect(status(made.node('a').state!).lastIndex).toBe(before);
    made.fire('a', 'transfer');
    expect(status(made.node('a').state!).transferring).toBeNull();
    made.propose('a', 'accepted');
    expect(status(made.node('a').state!).lastIndex).toBe(before + 1);
  });

  it('to itself, to a non-member, or on a non-leader, nothing changes', () => {
    const made = leaderOf3();
    const state = made.node('a').state!;
    for (const to of ['a', 'z']) expect(made.step('a', { type: 'transferLeadership', to })).toEqual([]);
    expect(made.node('a').state).toBe(state);
    const followerState = made.node('b').state!;
    made.step('b', { type: 'transferLeadership', to: 'c' });
    expect(made.node('b').state).toBe(followerState);
  });

  it('a target that lags is caught up first, then told', () => {
    const made = leaderOf3();
    made.setConnected('c', false);
    made.propose('a', 'x');
    settle(made);
    made.setConnected('c', true);
    const effects = made.step('a', { type: 'transferLeadership', to: 'c' })!;
    expect(sendsOf(effects)).toMatchObject([{ type: 'AppendEntries', to: 'c' }]);
    settle(made);
    expect(status(made.node('c').state!)).toMatchObject({ role: 'leader' });
    // Its log holds x, and its own no-op after it.
    expect(status(made.node('c').state!).lastIndex).toBe(3);
  });

  it("a target whose election timer just fired (a pre-candidate in the leader's term) is told all the same", () => {
    const made = leaderOf3();
    // c missed heartbeats: it asks for pre-votes, still in term 1, and its requests are lost.
    made.setConnected('c', false);
    made.fire('c', 'election');
    expect(made.node('c').state).toMatchObject({ role: 'precandidate', term: 1 });
    made.setConnected('c', true);
    made.step('a', { type: 'transferLeadership', to: 'c' });
    // The TimeoutNow reached a pre-candidate, which dropped it: the transfer hung until its timer fired.
    settle(made);
    expectHandedOver(made, 'a', 'c');
  });
});

describe('propose during a transfer, on the pure reducer', () => {
  it('is refused without creating an entry (contract 7 still holds: no entry, state unchanged)', () => {
    const made = cluster(['a', 'b', 'c'], {}, THESIS);
    elect(made, 'a');
    made.setConnected('b', false);
    made.step('a', { type: 'transferLeadership', to: 'b' });
    const state = made.node('a').state!;
    expect(run(state, propose('x'))).toEqual([state, []]);
  });
});
