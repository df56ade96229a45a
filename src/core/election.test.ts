/** Elections and terms, named after the paper's sentences (extended Raft paper §5.1, §5.2, §5.4.1, §8). */
import { describe, expect, it } from 'vitest';
import {
  append,
  appendRejected,
  candidate,
  config,
  durable,
  entries,
  follower,
  leader,
  ofType,
  receive,
  run,
  sendsOf,
  timeout,
  VOTERS3,
  VOTERS5,
  voteRequest,
  voteResponse,
} from '../../test/support/core.js';
import { init, status } from './index.js';

describe('§5.1 terms', () => {
  it('a node that sees a higher term in any message becomes a follower of that term', () => {
    const messages = [
      voteRequest('b', 'a', 9),
      voteResponse('b', 'a', 9, false),
      append('b', 'a', 9, 0, 0),
      appendRejected('b', 'a', 9, 1, 0, 1),
    ];
    for (const start of [follower('a'), candidate('a'), leader('a')]) {
      for (const message of messages) {
        const [next, effects] = run(start, receive(message));
        expect(status(next)).toMatchObject({ role: 'follower', term: 9 });
        // The new term is durable before anything leaves (a vote granted in it, an acknowledgement).
        const persist = effects.findIndex((e) => e.type === 'persist' && e.hardState?.term === 9);
        expect(persist).toBeGreaterThanOrEqual(0);
        effects.forEach((e, i) => {
          if (e.type === 'send') expect(i).toBeGreaterThan(persist);
        });
      }
    }
  });

  it('only an AppendEntries of the higher term names the leader', () => {
    expect(status(run(follower('a'), receive(append('b', 'a', 3, 0, 0)))[0]).leaderId).toBe('b');
    expect(status(run(follower('a'), receive(voteRequest('b', 'a', 3)))[0]).leaderId).toBeNull();
  });

  it('a request with a stale term is rejected with the current term, and changes nothing', () => {
    const start = run(follower('a'), receive(append('b', 'a', 5, 0, 0)))[0];
    for (const message of [voteRequest('c', 'a', 4, 100, 4), append('c', 'a', 4, 0, 0, entries(4))]) {
      const [next, effects] = run(start, receive(message));
      expect(next).toBe(start);
      const [reply] = sendsOf(effects);
      expect(reply).toMatchObject({ term: 5, to: 'c' });
      expect(reply).toSatisfy(
        (m: { voteGranted?: boolean; success?: boolean }) => m.voteGranted === false || m.success === false,
      );
    }
  });

  it('a response with a stale term is dropped', () => {
    const start = candidate('a', durable(4));
    const [next, effects] = run(start, receive(voteResponse('b', 'a', 4, true)));
    expect(next).toBe(start);
    expect(effects).toEqual([]);
  });
});

describe('§5.2 leader election', () => {
  it('when servers start up, they begin as followers with an election timer armed', () => {
    const [state, effects] = init(config('a'));
    expect(status(state)).toMatchObject({ role: 'follower', term: 0, leaderId: null, commitIndex: 0 });
    expect(effects).toEqual([{ type: 'setTimer', timer: 'election', delay: expect.any(Number) }]);
  });

  it('a follower whose election timeout fires increments its term, votes for itself and asks every peer', () => {
    const [state, effects] = run(follower('a', durable(2, entries(1, 2))), timeout('election'));
    expect(status(state)).toMatchObject({ role: 'candidate', term: 3, votedFor: 'a' });
    expect(effects[0]).toEqual({ type: 'persist', hardState: { term: 3, votedFor: 'a' } });
    expect(sendsOf(effects)).toEqual([voteRequest('a', 'b', 3, 2, 2), voteRequest('a', 'c', 3, 2, 2)]);
    expect(ofType(effects, 'setTimer')).toEqual([
      { type: 'setTimer', timer: 'election', delay: expect.any(Number) },
    ]);
  });

  it('a candidate that receives votes from a majority becomes leader, asserts itself at once and appends a no-op (§8)', () => {
    const start = candidate('a', durable(0), {}, VOTERS5);
    const [afterOne] = run(start, receive(voteResponse('b', 'a', 1, true)));
    expect(status(afterOne).role).toBe('candidate');
    const [elected, effects] = run(afterOne, receive(voteResponse('c', 'a', 1, true)));
    expect(status(elected)).toMatchObject({ role: 'leader', leaderId: 'a', lastIndex: 1, lastTerm: 1 });
    const appends = sendsOf(effects);
    expect(appends.map((m) => m.to)).toEqual(['b', 'c', 'd', 'e']);
    for (const m of appends)
      expect(m).toMatchObject({ type: 'AppendEntries', entries: [{ index: 1, term: 1, kind: 'noop' }] });
    expect(ofType(effects, 'setTimer')).toEqual([{ type: 'setTimer', timer: 'heartbeat', delay: 50 }]);
    expect(ofType(effects, 'cancelTimer')).toEqual([{ type: 'cancelTimer', timer: 'election' }]);
  });

  it('votes are counted once per voter, and only from voters', () => {
    const start = candidate('a', durable(0), {}, VOTERS5);
    const [twice] = run(
      start,
      receive(voteResponse('b', 'a', 1, true)),
      receive(voteResponse('b', 'a', 1, true)),
    );
    expect(status(twice).role).toBe('candidate');
    const [outsider] = run(
      start,
      receive(voteResponse('z', 'a', 1, true)),
      receive(voteResponse('y', 'a', 1, true)),
    );
    expect(outsider).toBe(start);
  });

  it('a single-node cluster elects itself at its first timeout', () => {
    const [state] = run(follower('a', undefined, {}, ['a']), timeout('election'));
    expect(status(state)).toMatchObject({ role: 'leader', term: 1, commitIndex: 1 });
  });

  it('while waiting for votes, a candidate that receives AppendEntries from a leader of its term becomes a follower', () => {
    const [state] = run(candidate('a'), receive(append('b', 'a', 1, 0, 0)));
    expect(status(state)).toMatchObject({ role: 'follower', term: 1, leaderId: 'b', votedFor: 'a' });
  });

  it('a candidate that neither wins nor loses starts a new election when its timeout fires', () => {
    const [state, effects] = run(
      candidate('a'),
      receive(voteResponse('b', 'a', 1, false)),
      timeout('election'),
    );
    expect(status(state)).toMatchObject({ role: 'candidate', term: 2 });
    expect(sendsOf(effects).filter((m) => m.type === 'RequestVote' && m.term === 2)).toHaveLength(2);
  });

  it('each server votes for at most one candidate in a term, first-come-first-served; the vote is durable first', () => {
    const [first, effects] = run(follower('a'), receive(voteRequest('b', 'a', 1)));
    expect(effects[0]).toEqual({ type: 'persist', hardState: { term: 1, votedFor: 'b' } });
    expect(sendsOf(effects)).toEqual([voteResponse('a', 'b', 1, true)]);
    // The granted vote restarts the election timer (Figure 2, Followers).
    expect(ofType(effects, 'setTimer')).toHaveLength(1);
    const [, again] = run(first, receive(voteRequest('b', 'a', 1)));
    expect(sendsOf(again)).toEqual([voteResponse('a', 'b', 1, true)]);
    const [second, other] = run(first, receive(voteRequest('c', 'a', 1)));
    expect(sendsOf(other)).toEqual([voteResponse('a', 'c', 1, false)]);
    expect(status(second).votedFor).toBe('b');
  });

  it('refusing a vote does not restart the election timer, even at a higher term (Figure 2)', () => {
    // Stale candidates must not keep pushing back the timer of the node whose log could win.
    const [next, effects] = run(
      follower('a', durable(2, entries(2))),
      receive(voteRequest('b', 'a', 5, 0, 0)),
    );
    expect(sendsOf(effects)).toEqual([voteResponse('a', 'b', 5, false)]);
    expect(ofType(effects, 'setTimer')).toEqual([]);
    expect(status(next)).toMatchObject({ role: 'follower', term: 5 });
  });

  it('a leader that steps down arms its election timer, having had none', () => {
    const [, effects] = run(leader('a'), receive(voteRequest('b', 'a', 5, 0, 0)));
    expect(ofType(effects, 'cancelTimer')).toEqual([{ type: 'cancelTimer', timer: 'heartbeat' }]);
    expect(ofType(effects, 'setTimer')).toEqual([
      { type: 'setTimer', timer: 'election', delay: expect.any(Number) },
    ]);
  });

  it('a vote survives a restart: the restarted node refuses another candidate of the same term', () => {
    const [restarted] = init(config('a'), durable(1, [], 'b'));
    const [, effects] = run(restarted, receive(voteRequest('c', 'a', 1)));
    expect(sendsOf(effects)).toEqual([voteResponse('a', 'c', 1, false)]);
  });

  it('a leader sends heartbeats when its heartbeat timer fires, and re-arms it at the configured interval', () => {
    const [, effects] = run(leader('a'), timeout('heartbeat'));
    expect(sendsOf(effects).map((m) => [m.type, m.to])).toEqual([
      ['AppendEntries', 'b'],
      ['AppendEntries', 'c'],
    ]);
    expect(ofType(effects, 'setTimer')).toEqual([{ type: 'setTimer', timer: 'heartbeat', delay: 50 }]);
  });

  it('election timeouts are random in [min, max), drawn from the seeded generator in the state', () => {
    const delays = new Set<number>();
    let state = follower('a', undefined, { electionTimeout: [100, 200] });
    for (let i = 0; i < 200; i++) {
      const [next, effects] = run(state, receive(append('b', 'a', 1, 0, 0)));
      state = next;
      for (const timer of ofType(effects, 'setTimer')) {
        expect(timer.delay).toBeGreaterThanOrEqual(100);
        expect(timer.delay).toBeLessThan(200);
        delays.add(timer.delay);
      }
    }
    expect(delays.size).toBeGreaterThan(50);
    // Different seeds, different timeouts: split votes resolve.
    const first = (seed: number) =>
      ofType(init<string>(config('a', VOTERS3, { seed }))[1], 'setTimer')[0]!.delay;
    expect(new Set([1, 2, 3, 4, 5].map(first)).size).toBeGreaterThan(1);
  });

  it('timers of another role are ignored', () => {
    const start = follower('a');
    expect(run(start, timeout('heartbeat'))[0]).toBe(start);
    const lead = leader('a');
    expect(run(lead, timeout('election'))[0]).toBe(lead);
    expect(run(lead, timeout('no-such-timer'))[0]).toBe(lead);
  });
});

describe('§5.4.1 election restriction', () => {
  // The voter's log ends at (index 3, term 2).
  const voter = () => follower('a', durable(2, entries(1, 2, 2)));
  const cases: [string, number, number, boolean][] = [
    ['a higher last term wins, however short', 1, 3, true],
    ['the same last term and a longer log', 4, 2, true],
    ['the same last term and the same length', 3, 2, true],
    ['the same last term and a shorter log', 2, 2, false],
    ['a lower last term loses, however long', 10, 1, false],
  ];
  for (const [name, lastLogIndex, lastLogTerm, granted] of cases) {
    it(`a voter denies its vote if its own log is more up-to-date: ${name}`, () => {
      const [, effects] = run(voter(), receive(voteRequest('b', 'a', 3, lastLogIndex, lastLogTerm)));
      expect(sendsOf(effects)).toEqual([voteResponse('a', 'b', 3, granted)]);
    });
  }

  it('a leader or a candidate has voted for itself and refuses others in its term', () => {
    for (const state of [candidate('a'), leader('a')]) {
      const { term } = status(state);
      const [, effects] = run(state, receive(voteRequest('b', 'a', term, 99, term)));
      expect(sendsOf(effects)).toEqual([voteResponse('a', 'b', status(state).term, false)]);
    }
  });

  it('messages to someone else, or from the node itself, are dropped', () => {
    const start = follower('a');
    for (const message of [voteRequest('b', 'z', 5), voteRequest('a', 'a', 5)]) {
      expect(run(start, receive(message))).toEqual([start, []]);
    }
    expect(VOTERS3).toContain('b');
  });

  it('a node outside the configuration this node knows is answered: it may vote in one not yet learned (§6)', () => {
    const [state, effects] = run(follower('a'), receive(voteRequest('z', 'a', 5)));
    expect(status(state)).toMatchObject({ term: 5, votedFor: 'z' });
    expect(sendsOf(effects)).toEqual([voteResponse('a', 'z', 5, true)]);
  });
});
