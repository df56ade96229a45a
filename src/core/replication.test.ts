/** Log replication and commitment, named after the paper (extended Raft paper §5.3, §5.4.2, Figure 2, Figure 8). */
import { describe, expect, it } from 'vitest';
import {
  append,
  appendOk,
  appendRejected,
  appendsOf,
  type Cmd,
  cluster,
  durable,
  elect,
  entries,
  entry,
  follower,
  leader,
  ofType,
  propose,
  receive,
  run,
  sendsOf,
  settle,
  timeout,
  VOTERS5,
} from '../../test/support/core.js';
import { type AppendEntriesResponse, type Effect, logOf, status } from './index.js';

const responseOf = (effects: ReturnType<typeof run>[1]) => sendsOf(effects)[0] as AppendEntriesResponse;

describe('§5.3 AppendEntries receiver (Figure 2)', () => {
  it('rejects when its log has no entry at prevLogIndex, naming its log length for the leader', () => {
    const [, effects] = run(follower('a', durable(1, entries(1, 1))), receive(append('b', 'a', 2, 5, 1)));
    expect(responseOf(effects)).toMatchObject({
      success: false,
      index: 5,
      conflictTerm: 0,
      conflictIndex: 3,
    });
  });

  it('rejects when the entry at prevLogIndex has another term, naming that term and where it starts', () => {
    const [next, effects] = run(
      follower('a', durable(3, entries(1, 2, 2, 2))),
      receive(append('b', 'a', 4, 4, 3)),
    );
    expect(responseOf(effects)).toMatchObject({
      success: false,
      index: 4,
      conflictTerm: 2,
      conflictIndex: 2,
    });
    expect(status(next).lastIndex).toBe(4);
  });

  it('if an existing entry conflicts with a new one, deletes it and all that follow, then appends; all durable before the ack', () => {
    const start = follower('a', durable(2, entries(1, 1, 2, 2)));
    const [next, effects] = run(start, receive(append('b', 'a', 3, 2, 1, [entry(3, 3, 'new')])));
    expect(logOf(next).slice(1)).toEqual([...entries(1, 1), entry(3, 3, 'new')]);
    expect(effects[0]).toEqual({
      type: 'persist',
      hardState: { term: 3, votedFor: null },
      truncateFrom: 3,
      entries: [entry(3, 3, 'new')],
    });
    expect(effects[1]).toMatchObject({ type: 'send', message: { success: true, index: 3 } });
  });

  it('a stale or duplicated AppendEntries never truncates entries that match', () => {
    const start = follower('a', durable(2, entries(2, 2, 2, 2)));
    // The leader's earlier message carries only the first two entries; the follower already has four.
    const [next, effects] = run(
      start,
      receive(append('b', 'a', 2, 0, 0, entries(2, 2))),
      receive(append('b', 'a', 2, 0, 0, entries(2, 2))),
    );
    expect(status(next).lastIndex).toBe(4);
    expect(ofType(effects, 'persist')).toEqual([]);
    expect(sendsOf(effects)).toMatchObject([
      { success: true, index: 2 },
      { success: true, index: 2 },
    ]);
  });

  it('appends only what is new, and acknowledges the last index it verified', () => {
    const start = follower('a', durable(2, entries(2, 2)));
    const [next, effects] = run(start, receive(append('b', 'a', 2, 1, 2, entries(2, 2, 2).slice(1))));
    expect(status(next).lastIndex).toBe(3);
    expect(ofType(effects, 'persist')).toEqual([{ type: 'persist', entries: [entry(3, 2, 'x3')] }]);
    expect(responseOf(effects)).toMatchObject({ success: true, index: 3 });
  });

  it('sets commitIndex = min(leaderCommit, index of last new entry), never backwards, and applies in order', () => {
    const start = follower('a', durable(1, entries(1, 1, 1, 1, 1)));
    const [first, effects] = run(start, receive(append('b', 'a', 1, 2, 1, [], 5)));
    expect(status(first).commitIndex).toBe(2);
    expect(ofType(effects, 'apply')).toEqual([{ type: 'apply', entries: entries(1, 1) }]);
    const [second, more] = run(first, receive(append('b', 'a', 1, 5, 1, [], 4)));
    expect(status(second).commitIndex).toBe(4);
    expect(ofType(more, 'apply')).toEqual([{ type: 'apply', entries: entries(1, 1, 1, 1).slice(2) }]);
    const [third, none] = run(second, receive(append('b', 'a', 1, 1, 1, [], 1)));
    expect(status(third).commitIndex).toBe(4);
    expect(ofType(none, 'apply')).toEqual([]);
  });

  it('takes a very large batch in one message without overflowing anything', () => {
    const many = Array.from({ length: 200_000 }, (_, i) => entry(i + 1, 1, 'x'));
    const [next, effects] = run(follower('a'), receive(append('b', 'a', 1, 0, 0, many, 200_000)));
    expect(status(next)).toMatchObject({ lastIndex: 200_000, commitIndex: 200_000 });
    expect(ofType(effects, 'persist')[0]!.entries).toHaveLength(200_000);
  });

  it('refuses to destroy a committed entry, whatever a message claims', () => {
    const [committed] = run(
      follower('a', durable(2, entries(1, 1, 1))),
      receive(append('b', 'a', 2, 3, 1, [], 3)),
    );
    // Entries through the commit index are skipped (every leader holds them): the answer is the commit index.
    const [next, effects] = run(committed, receive(append('b', 'a', 3, 1, 1, [entry(2, 3, 'evil')], 3)));
    expect(logOf(next).slice(1)).toEqual(entries(1, 1, 1));
    expect(sendsOf(effects)).toEqual([appendOk('a', 'b', 3, 3)]);
    // A message that goes on past the commit index appends what is new there.
    const [kept, none] = run(committed, receive(append('b', 'a', 3, 3, 1, [entry(4, 3, 'ok')], 3)));
    expect(logOf(kept).slice(1)).toEqual([...entries(1, 1, 1), entry(4, 3, 'ok')]);
    expect(sendsOf(none)).toEqual([appendOk('a', 'b', 3, 4)]);
  });

  it('drops malformed messages: entries that do not continue prevLogIndex, terms from the future, negative indices', () => {
    const start = follower('a', durable(1, entries(1)));
    const malformed = [
      append('b', 'a', 2, 1, 1, [entry(3, 2)]),
      append('b', 'a', 2, 1, 1, [entry(2, 5)]),
      append('b', 'a', 2, -1, 0),
      append('b', 'a', 2, 1.5, 1),
      append('b', 'a', 2, 1, 1, [entry(2, 2), entry(3, 1)]),
      append('b', 'a', 2, 1, 1, [{ index: 2, term: 2, kind: 'noop', command: 'smuggled' }]),
      append('b', 'a', 2, 0, 0, [entry(1, 0)]),
    ];
    for (const message of malformed) expect(run(start, receive(message))).toEqual([start, []]);
  });
});

describe('§5.3, §5.4.2 the leader commits', () => {
  it('a leader appends a proposal at once and sends it to every follower without waiting for a heartbeat', () => {
    const start = leader('a');
    const [next, effects] = run(start, propose('x'));
    expect(status(next)).toMatchObject({ lastIndex: 2, lastTerm: 1 });
    expect(appendsOf(effects).map((m) => [m.to, m.entries.map((e) => e.command)])).toEqual([]);
    // Followers still probing (their first append is unanswered) get nothing more until it is answered.
    const [, afterAck] = run(start, receive(appendOk('b', 'a', 1, 1)), propose('x'));
    expect(
      appendsOf(afterAck)
        .filter((m) => m.to === 'b')
        .flatMap((m) => m.entries.map((e) => e.index)),
    ).toEqual([2]);
  });

  it('a leader writes its own entries in parallel with sending them (sends first), a follower persists before it acknowledges', () => {
    const [acked] = run(leader('a'), receive(appendOk('b', 'a', 1, 1)));
    const [, effects] = run(acked, propose('x'));
    // c's probe is still unanswered, so only b gets the entry.
    expect(effects.map((e) => e.type)).toEqual(['send', 'persist']);
  });

  it('an entry is committed once the leader has replicated it on a majority, and applied in order', () => {
    const made = cluster(VOTERS5);
    elect(made, 'a');
    made.propose('a', 'x');
    settle(made, (m) => m.to !== 'd' && m.to !== 'e' && m.from !== 'd' && m.from !== 'e');
    expect(status(made.node('a').state!).commitIndex).toBe(2);
    expect(made.appliedLog.slice(1).map((e) => e.command ?? e.kind)).toEqual(['noop', 'x']);
  });

  it('without a majority nothing commits', () => {
    const made = cluster(VOTERS5);
    elect(made, 'a');
    const before = status(made.node('a').state!).commitIndex;
    made.propose('a', 'x');
    settle(made, (m) => m.to === 'b' || m.from === 'b');
    expect(status(made.node('a').state!).commitIndex).toBe(before);
  });

  it('Figure 8: a leader never commits an entry of an earlier term by counting replicas', () => {
    // Term-2 entry at index 2 is on a and b (a majority of 3); a is elected in term 4.
    const log = entries(1, 2);
    const lead = leader('a', durable(3, log));
    expect(status(lead).term).toBe(4);
    // b acknowledges index 2 only (it has not yet got the term-4 no-op).
    const [counted] = run(lead, receive(appendOk('b', 'a', 4, 2)));
    expect(status(counted).commitIndex).toBe(0);
    // Once b holds the leader's own no-op, index 3 commits, and index 2 with it.
    const [committed, effects] = run(counted, receive(appendOk('b', 'a', 4, 3)));
    expect(status(committed).commitIndex).toBe(3);
    expect(ofType(effects, 'apply')).toEqual([{ type: 'apply', entries: [...log, entry(3, 4)] }]);
  });

  it('acknowledgements for entries the leader does not have are dropped', () => {
    const lead = leader('a');
    expect(run(lead, receive(appendOk('b', 'a', 1, 99)))[0]).toBe(lead);
  });
});

describe('§5.3 fast backup over a mismatched follower log', () => {
  it('a follower with 1,000 divergent entries is repaired in a handful of rounds, not a thousand', () => {
    // a and b share entries 1..10 of term 1; c kept 1,000 entries of term 2 from a leader that never committed.
    const shared = entries(...Array(10).fill(1));
    const divergent = [
      ...entries(1, 1, 1, 1, 1),
      ...Array.from({ length: 1000 }, (_, i) => entry(6 + i, 2, `stale${i}`)),
    ];
    const made = cluster(['a', 'b', 'c'], {
      a: durable(3, shared),
      b: durable(3, shared),
      c: durable(3, divergent),
    });
    let appendsToC = 0;
    made.fire('a', 'election');
    settle(made, (m) => {
      if (m.type === 'AppendEntries' && m.to === 'c') appendsToC++;
      return true;
    });
    expect(status(made.node('a').state!).role).toBe('leader');
    const c = logOf(made.node('c').state!);
    expect(c.slice(1)).toEqual(logOf(made.node('a').state!).slice(1));
    // Probe at 11 rejected (term 2 there), skip the whole term to 6, then the repair itself in capped batches.
    expect(appendsToC).toBeLessThanOrEqual(4);
  });

  it('when the leader has entries of the conflicting term, it resumes just after its last one', () => {
    // Leader: 1,1,2,2,4 (term 5 now). Follower: 1,1,2,2,2,2,3,3.
    const lead = leader('a', durable(4, entries(1, 1, 2, 2, 4)));
    const [, first] = run(lead, receive(appendRejected('b', 'a', 5, 5, 2, 3)));
    expect(appendsOf(first).find((m) => m.to === 'b')).toMatchObject({ prevLogIndex: 4, prevLogTerm: 2 });
  });

  it('stale rejections are ignored', () => {
    const lead = leader('a', durable(1, entries(1, 1, 1)));
    const [probing] = run(lead, receive(appendRejected('b', 'a', 2, 3, 0, 2)));
    // The probe now sits at prevLogIndex 1; an older rejection of index 3 says nothing new.
    const again = run(probing, receive(appendRejected('b', 'a', 2, 3, 0, 2)));
    expect(again[0]).toBe(probing);
  });

  it('a follower that lost what it acknowledged (a wiped data directory) is caught up again, not ignored', () => {
    // b acknowledged everything through 4 (the no-op of term 2); then it comes back with an empty log.
    const [matched] = run(leader('a', durable(1, entries(1, 1, 1))), receive(appendOk('b', 'a', 2, 4)));
    // A rejection from before the heartbeat round that followed still reads as stale: reordering explains it.
    const stale = { ...appendRejected('b', 'a', 2, 4, 0, 1), round: 0 };
    expect(run(matched, receive(stale))[0]).toBe(matched);
    const [beaten, beat] = run(matched, timeout('heartbeat'));
    const anchored = appendsOf(beat).find((m) => m.to === 'b')!;
    expect(anchored).toMatchObject({ prevLogIndex: 4, entries: [] });
    // Its answer to that heartbeat, sent after the leader knew the match: the follower's log ends before 1.
    const [repaired, effects] = run(
      beaten,
      receive({ ...appendRejected('b', 'a', 2, 4, 0, 1), round: anchored.round }),
    );
    expect(repaired.progress.get('b')).toMatchObject({ state: 'probe', match: 0, next: 1 });
    expect(appendsOf(effects)).toEqual([
      expect.objectContaining({ to: 'b', prevLogIndex: 0, entries: logOf(repaired).slice(1, 4) }),
    ]);
  });
});

describe('flow control', () => {
  const replicating = () =>
    run(leader('a'), receive(appendOk('b', 'a', 1, 1)), receive(appendOk('c', 'a', 1, 1)))[0];

  it('entries in flight to a follower that keeps up are never sent twice; heartbeats carry none', () => {
    let state = replicating();
    const sentTo = new Map<string, number[]>();
    for (const command of ['x', 'y', 'z']) {
      const [next, effects] = run(state, propose(command));
      state = next;
      for (const m of appendsOf(effects))
        sentTo.set(m.to, [...(sentTo.get(m.to) ?? []), ...m.entries.map((e) => e.index)]);
    }
    expect(sentTo.get('b')).toEqual([2, 3, 4]);
    const [, beat] = run(state, { type: 'timeout', timer: 'heartbeat' });
    expect(appendsOf(beat).every((m) => m.entries.length === 0)).toBe(true);
  });

  it('at most maxInflightAppends unacknowledged appends; then the leader batches until an acknowledgement', () => {
    let state = run(leader('a', undefined, { maxInflightAppends: 2 }), receive(appendOk('b', 'a', 1, 1)))[0];
    let sent = 0;
    for (let i = 0; i < 5; i++) {
      const [next, effects] = run(state, propose(`c${i}`));
      state = next;
      sent += appendsOf(effects).filter((m) => m.to === 'b').length;
    }
    expect(sent).toBe(2);
    const [, effects] = run(state, receive(appendOk('b', 'a', 1, 2)));
    expect(
      appendsOf(effects)
        .filter((m) => m.to === 'b')
        .map((m) => m.entries.map((e) => e.index)),
    ).toEqual([[4, 5, 6]]);
  });

  it('caps entries and bytes per AppendEntries, always sending at least one entry', () => {
    const log = entries(...Array(10).fill(1));
    const byCount = leader('a', durable(1, log), { maxEntriesPerAppend: 3 });
    const [, effects] = run(byCount, receive(appendRejected('b', 'a', 2, 10, 0, 1)));
    expect(appendsOf(effects)[0]!.entries.map((e) => e.index)).toEqual([1, 2, 3]);
    const bySize = leader('a', durable(1, log), { maxBytesPerAppend: 5 });
    const [, sized] = run(bySize, receive(appendRejected('b', 'a', 2, 10, 0, 1)));
    // Each command ("x1".."x9") is 2 bytes: two fit in 5 bytes.
    expect(appendsOf(sized)[0]!.entries.map((e) => e.index)).toEqual([1, 2]);
  });

  it('counts a configuration entry by its ids against the bytes per AppendEntries', () => {
    // A batch of configurations that counted nothing could outgrow a frame, which the transport drops: the
    // follower would never catch up.
    const membership = { voters: ['a', 'b', 'c'], learners: ['l'.repeat(200)] };
    const log = [1, 2, 3].map((index) => ({ index, term: 1, kind: 'config' as const, membership }));
    const bySize = leader('a', durable(1, log), { maxBytesPerAppend: 300 });
    const [, sized] = run(bySize, receive(appendRejected('b', 'a', 2, 3, 0, 1)));
    // 3 voters of 1 byte and a learner of 200, each with a byte of length: 207 bytes, one entry to an append.
    expect(
      appendsOf(sized)
        .find((m) => m.to === 'b')!
        .entries.map((e) => e.index),
    ).toEqual([1]);
  });

  it('heartbeats are sent only on the heartbeat timer, never on proposals', () => {
    let state = replicating();
    for (let i = 0; i < 20; i++) {
      const [next, effects] = run(state, propose(`c${i}`));
      state = next;
      expect(appendsOf(effects).every((m) => m.entries.length > 0)).toBe(true);
      expect(ofType(effects, 'setTimer')).toEqual([]);
    }
  });

  const entriesSent = (made: ReturnType<typeof cluster>, to: string, deliver: boolean) => {
    let sent = 0;
    settle(made, (m) => {
      if (m.type !== 'AppendEntries' || m.to !== to) return true;
      sent += m.entries.length;
      return deliver;
    });
    return sent;
  };

  it('a lost append is sent again on the next heartbeat: the heartbeat is anchored at the last entry sent', () => {
    const made = cluster();
    elect(made, 'a');
    made.propose('a', 'lost');
    settle(made, (m) => !(m.type === 'AppendEntries' && m.to === 'c'));
    expect(status(made.node('c').state!).lastIndex).toBe(1);
    // c rejects the heartbeat (it lacks entry 2), and the leader's probe after the rejection carries the entry.
    made.fire('a', 'heartbeat');
    expect(entriesSent(made, 'c', true)).toBe(1);
    expect(status(made.node('c').state!).lastIndex).toBe(2);
    expect(made.node('c').appliedIndex).toBe(2);
  });

  it('appends to a follower that answers nothing are presumed lost after an election timeout of heartbeats, not before', () => {
    // Election timeout 150..300, heartbeat 50: an election timeout without progress means loss, not a slow link.
    const made = cluster();
    elect(made, 'a');
    made.propose('a', 'lost');
    settle(made, (m) => !(m.type === 'AppendEntries' && m.to === 'c'));
    // The first heartbeat notes where c's match stands; three more without progress mean the appends were lost.
    for (let beat = 1; beat <= 3; beat++) {
      made.fire('a', 'heartbeat');
      expect(entriesSent(made, 'c', false), `heartbeat ${beat} resent entries`).toBe(0);
      expect(made.node('a').state!.progress.get('c')).toMatchObject({ state: 'replicate', match: 1 });
    }
    made.fire('a', 'heartbeat');
    expect(made.node('a').state!.progress.get('c')).toMatchObject({ state: 'probe', match: 1 });
    expect(entriesSent(made, 'c', true)).toBe(1);
    expect(status(made.node('c').state!).lastIndex).toBe(2);
  });

  it('a probe refused at the match, in the round the match was learned, waits for the next round, not a loop', () => {
    // b acknowledged 3; the no-op (4) and x (5) are in flight to it; a heartbeat (round 1) is anchored at 5.
    let [state] = run(
      leader('a', durable(1, entries(1, 1, 1))),
      receive(appendOk('b', 'a', 2, 3)),
      propose('x'),
    );
    [state] = run(state, timeout('heartbeat'));
    // The acknowledgement of 4 arrives in round 1; then b, wiped meanwhile, refuses the heartbeat.
    [state] = run(state, receive(appendOk('b', 'a', 2, 4)));
    const wiped = (index: number, round: number) =>
      receive({ ...appendRejected('b', 'a', 2, index, 0, 1), round });
    let effects: Effect<Cmd>[];
    [state, effects] = run(state, wiped(5, 1));
    expect(appendsOf(effects)).toEqual([expect.objectContaining({ to: 'b', prevLogIndex: 4 })]);
    // The probe at 4 is refused in round 1 too: nothing is sent until the next round.
    [state, effects] = run(state, wiped(4, 1));
    expect(appendsOf(effects)).toEqual([]);
    expect(state.progress.get('b')).toMatchObject({ state: 'probe', match: 4, next: 5 });
    [state, effects] = run(state, timeout('heartbeat'));
    expect(appendsOf(effects).filter((m) => m.to === 'b')).toEqual([
      expect.objectContaining({ prevLogIndex: 4, round: 2 }),
    ]);
    // Refused in round 2, after the match was learned: b lost what it acknowledged, and is caught up from 1.
    [state, effects] = run(state, wiped(4, 2));
    expect(state.progress.get('b')).toMatchObject({ state: 'probe', match: 0, next: 1 });
    expect(appendsOf(effects)).toEqual([expect.objectContaining({ to: 'b', prevLogIndex: 0 })]);
  });

  it("a rejection of an index past the leader's log is bad input, dropped", () => {
    const lead = run(leader('a'), receive(appendOk('b', 'a', 1, 1)))[0];
    const bogus = appendRejected('b', 'a', 1, 1000, 0, 1000);
    expect(run(lead, receive(bogus))[0]).toBe(lead);
  });
});
