/** Membership changes through joint consensus (extended Raft paper §6; CONTRACT.md, Widening 1, rule 14). */
import { describe, expect, it } from 'vitest';
import {
  append,
  appendOk,
  cluster,
  config,
  durable,
  elect,
  entries,
  follower,
  leader,
  ofType,
  propose,
  receive,
  run,
  sendsOf,
  settle,
  timeout,
  VOTERS3,
  voteResponse,
} from '../../test/support/core.js';
import { type Entry, type Event, init, logOf, type Membership, status, whyChangeInvalid } from './index.js';

const change = (voters: string[], learners: string[] = []): Event<string> => ({
  type: 'changeMembership',
  voters,
  learners,
});
const configEntry = (index: number, term: number, membership: Membership): Entry<string> => ({
  index,
  term,
  kind: 'config',
  membership,
});
const joint: Membership = { voters: ['a', 'd', 'e'], learners: [], outgoing: ['a', 'b', 'c'] };

/** Leader a of term 2 (entries 1..2 of term 1, no-op at 3), its no-op acknowledged by b and c. */
function committedLeader() {
  return run(
    leader('a', durable(1, entries(1, 1))),
    receive(appendOk('b', 'a', 2, 3)),
    receive(appendOk('c', 'a', 2, 3)),
  )[0];
}

describe('§6 a change goes through the joint configuration', () => {
  it('the leader appends the joint configuration (new voters, old ones outgoing) and replicates it to everyone', () => {
    const [state, effects] = run(committedLeader(), change(['a', 'd', 'e']));
    expect(logOf(state).entry(4)).toEqual(configEntry(4, 2, joint));
    // In force at once, before it is committed; the new members get it too.
    expect(status(state).membership).toEqual(joint);
    expect(
      sendsOf(effects)
        .map((m) => m.to)
        .sort(),
    ).toEqual(['b', 'c', 'd', 'e']);
  });

  it('while joint, an entry commits only with a majority of both the old and the new voters', () => {
    const [jointLeader] = run(committedLeader(), change(['a', 'd', 'e']));
    // b and c are a majority of the old voters with a, but only a is in the new ones.
    const [oldOnly] = run(jointLeader, receive(appendOk('b', 'a', 2, 4)), receive(appendOk('c', 'a', 2, 4)));
    expect(status(oldOnly).commitIndex).toBe(3);
    const [both, effects] = run(oldOnly, receive(appendOk('d', 'a', 2, 4)));
    expect(status(both).commitIndex).toBe(4);
    // Once the joint configuration is committed, the leader appends the final one by itself.
    expect(logOf(both).entry(5)).toEqual(configEntry(5, 2, { voters: ['a', 'd', 'e'], learners: [] }));
    expect(ofType(effects, 'persist')[0]!.entries).toEqual([logOf(both).entry(5)]);
    // The other way round: d and e are a majority of the new voters with a, but only a is in the old ones.
    const [newOnly] = run(jointLeader, receive(appendOk('d', 'a', 2, 4)), receive(appendOk('e', 'a', 2, 4)));
    expect(status(newOnly).commitIndex).toBe(3);
    expect(status(run(newOnly, receive(appendOk('b', 'a', 2, 4)))[0]).commitIndex).toBe(4);
  });

  it('while joint, an election needs a majority of both sets too', () => {
    const jointLog = [...entries(1), configEntry(2, 1, joint)];
    let state = run(follower('a', durable(1, jointLog)), timeout('election'))[0];
    state = run(state, receive(voteResponse('b', 'a', 2, true)), receive(voteResponse('c', 'a', 2, true)))[0];
    expect(status(state).role).toBe('candidate');
    state = run(state, receive(voteResponse('d', 'a', 2, true)))[0];
    expect(status(state).role).toBe('leader');
    // The other way round: a majority of the new voters alone does not win either.
    let other = run(follower('a', durable(1, jointLog)), timeout('election'))[0];
    other = run(other, receive(voteResponse('d', 'a', 2, true)), receive(voteResponse('e', 'a', 2, true)))[0];
    expect(status(other).role).toBe('candidate');
    other = run(other, receive(voteResponse('b', 'a', 2, true)))[0];
    expect(status(other).role).toBe('leader');
  });

  it('a configuration takes effect when appended, and reverts when its entry is truncated', () => {
    const [appended] = run(
      follower('a', durable(1, entries(1))),
      receive(append('b', 'a', 2, 1, 1, [configEntry(2, 2, joint)])),
    );
    expect(status(appended).membership).toEqual(joint);
    const [truncated] = run(
      appended,
      receive(append('c', 'a', 3, 1, 1, [{ index: 2, term: 3, kind: 'noop' }])),
    );
    expect(status(truncated).membership).toEqual({ voters: VOTERS3, learners: [] });
  });

  it('one change at a time, only on a leader, and never a malformed one: anything else changes nothing', () => {
    const [jointLeader] = run(committedLeader(), change(['a', 'd', 'e']));
    const refused: [ReturnType<typeof committedLeader>, Event<string>][] = [
      [jointLeader, change(['a', 'b'])],
      [follower('a'), change(['a', 'b'])],
      [committedLeader(), change([])],
      [committedLeader(), change(['a', 'a'])],
      [committedLeader(), change(['a', 'b'], ['b'])],
      [committedLeader(), change(['a', ''])],
    ];
    for (const [state, event] of refused) {
      const [next, effects] = run(state, event);
      expect(next).toBe(state);
      expect(effects).toEqual([]);
    }
    // The service asks the same rules for a reason to give its caller.
    expect(whyChangeInvalid(joint, ['a'])).toMatch(/in progress/);
    expect(whyChangeInvalid(status(committedLeader()).membership, [])).toMatch(/at least one voter/);
    expect(whyChangeInvalid(status(committedLeader()).membership, ['a'], ['a'])).toMatch(
      /both a voter and a learner/,
    );
  });

  it('a leader that is not in the new voters steps down once the final configuration is committed', () => {
    let state = run(committedLeader(), change(['b', 'c', 'd']))[0];
    state = run(state, receive(appendOk('b', 'a', 2, 4)), receive(appendOk('c', 'a', 2, 4)))[0];
    expect(status(state)).toMatchObject({ role: 'leader', commitIndex: 4 });
    const [after, effects] = run(state, receive(appendOk('b', 'a', 2, 5)), receive(appendOk('c', 'a', 2, 5)));
    expect(status(after)).toMatchObject({
      role: 'follower',
      commitIndex: 5,
      membership: { voters: ['b', 'c', 'd'] },
    });
    expect(ofType(effects, 'cancelTimer').map((e) => e.timer)).toContain('heartbeat');
    // Removed, it never campaigns.
    const [timedOut, nothing] = run(after, timeout('election'));
    expect(status(timedOut).term).toBe(2);
    expect(sendsOf(nothing)).toEqual([]);
  });

  it('a node that its uncommitted configuration leaves out still campaigns, without counting its own vote (thesis §4.2.2)', () => {
    // a appended C_new = {b, c, d} at 5 and lost its leadership before it committed: b and c still hold the
    // joint configuration and need a majority of the old voters, and a holds the longest log.
    const removing = [
      ...entries(1, 1),
      configEntry(3, 2, { voters: ['b', 'c', 'd'], learners: [], outgoing: VOTERS3 }),
    ];
    const log = [...removing, configEntry(4, 2, { voters: ['b', 'c', 'd'], learners: [] })];
    const [candidate, effects] = run(follower('a', durable(2, log)), timeout('election'));
    expect(status(candidate)).toMatchObject({ role: 'candidate', term: 3 });
    expect(
      sendsOf(effects)
        .map((m) => m.to)
        .sort(),
    ).toEqual(['b', 'c', 'd']);
    // Its own vote does not count: b alone is not a majority of {b, c, d}; b and c are.
    const [one] = run(candidate, receive(voteResponse('b', 'a', 3, true)));
    expect(status(one).role).toBe('candidate');
    const [won] = run(one, receive(voteResponse('c', 'a', 3, true)));
    expect(status(won).role).toBe('leader');
    // Once C_new is committed, it no longer campaigns.
    const [committed] = run(follower('a', durable(2, log)), receive(append('b', 'a', 2, 4, 2, [], 4)));
    const [stays, none] = run(committed, timeout('election'));
    expect(status(stays)).toMatchObject({ role: 'follower', term: 2 });
    expect(sendsOf(none)).toEqual([]);
  });
});

describe('§6 learners', () => {
  it('receive the log but never count toward a commit, never vote in a tally, and never campaign', () => {
    const withLearner = config('a', ['a', 'b', 'c'], { learners: ['l'] });
    let lead = init<string>(withLearner)[0];
    lead = run(lead, timeout('election'), receive(voteResponse('l', 'a', 1, true)))[0];
    expect(status(lead).role).toBe('candidate');
    lead = run(lead, receive(voteResponse('b', 'a', 1, true)))[0];
    expect(status(lead).role).toBe('leader');
    // The learner alone acknowledging the no-op does not commit it; b does.
    const [learnerOnly] = run(lead, receive(appendOk('l', 'a', 1, 1)));
    expect(status(learnerOnly).commitIndex).toBe(0);
    const [committed] = run(learnerOnly, receive(appendOk('b', 'a', 1, 1)));
    expect(status(committed).commitIndex).toBe(1);
    const [, effects] = run(committed, propose('x'));
    expect(
      sendsOf(effects)
        .map((m) => m.to)
        .sort(),
    ).toEqual(['b', 'l']);

    const [learner] = init<string>(config('l', ['a', 'b', 'c'], { learners: ['l'] }));
    expect(status(learner).role).toBe('learner');
    const [after, timedOut] = run(learner, timeout('election'));
    expect(status(after).term).toBe(0);
    expect(sendsOf(timedOut)).toEqual([]);
    expect(ofType(timedOut, 'setTimer').map((e) => e.timer)).toEqual(['election']);
  });

  it('a joining node started with the cluster’s voters waits for a configuration that names it, then votes', () => {
    const made = cluster();
    elect(made, 'a');
    made.addNode('d');
    expect(status(made.node('d').state!)).toMatchObject({
      role: 'follower',
      membership: { voters: VOTERS3 },
    });
    made.fire('d', 'election');
    expect(status(made.node('d').state!).term).toBe(0);
    made.step('a', change(['a', 'b', 'c'], ['d']));
    settle(made);
    made.fire('a', 'heartbeat');
    settle(made);
    expect(status(made.node('d').state!).role).toBe('learner');
    made.step('a', change(['a', 'b', 'c', 'd']));
    settle(made);
    made.fire('a', 'heartbeat');
    settle(made);
    expect(status(made.node('d').state!)).toMatchObject({
      role: 'follower',
      membership: { voters: ['a', 'b', 'c', 'd'] },
    });
    for (const id of ['a', 'b', 'c', 'd']) expect(status(made.node(id).state!).commitIndex).toBe(5);
  });

  it('a joining node takes no snapshot before the first configuration entry it holds: it cannot vouch for its membership', () => {
    // d was started with the voters {a, b} current when it joined, but its log begins before the change from
    // {a, b, c} to {a, b} at 3: the configuration in force at 1 and 2 is not the one it started with.
    const shrink = { voters: ['a', 'b'], learners: [], outgoing: VOTERS3 };
    const log = [
      ...entries(1, 1),
      configEntry(3, 1, shrink),
      configEntry(4, 1, { voters: ['a', 'b'], learners: [] }),
    ];
    let d = follower('d', undefined, {}, ['a', 'b']);
    d = run(d, receive(append('a', 'd', 1, 0, 0, log, 4)))[0];
    const [before, nothing] = run(d, { type: 'snapshot', index: 2, data: 'state@2' });
    expect(before).toBe(d);
    expect(nothing).toEqual([]);
    const [after] = run(d, { type: 'snapshot', index: 3, data: 'state@3' });
    expect(logOf(after).snapshot?.meta).toEqual({ index: 3, term: 1, membership: shrink });
    // A founding member knows its starting configuration.
    const [founding] = run(follower('a'), receive(append('b', 'a', 1, 0, 0, entries(1, 1), 2)));
    expect(
      logOf(run(founding, { type: 'snapshot', index: 1, data: 's' })[0]).snapshot?.meta.membership,
    ).toEqual({
      voters: VOTERS3,
      learners: [],
    });
  });
});
