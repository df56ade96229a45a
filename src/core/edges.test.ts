/**
 * Cases of Figure 2 (§5.1–§5.3), §7 and thesis §3.10 that a mutation review of the suite found no test for:
 * each bug named here was planted in the core, and every other test, property and lab scenario passed. Each test
 * fails on its bug, and passes on the core as it is.
 */
import { describe, expect, it } from 'vitest';
import {
  append,
  appendOk,
  cluster,
  durable,
  elect,
  entries,
  entry,
  follower,
  leader,
  receive,
  run,
  sendsOf,
  settle,
  THESIS,
  voteRequest,
} from '../../test/support/core.js';
import { type Entry, init, logOf, status } from './index.js';

// The bug it catches: output.ts: hard state counted as changed only when the term changes.
describe('§5.2 a vote granted without a term change is durable before it leaves', () => {
  it('persists votedFor before the grant, so a restart cannot vote twice in the term', () => {
    // a already holds term 1 (persisted earlier, no vote yet), then b asks for its vote in term 1.
    const [state, effects] = run(follower('a', durable(1)), receive(voteRequest('b', 'a', 1)));
    expect(status(state)).toMatchObject({ term: 1, votedFor: 'b' });
    const persist = effects.findIndex((e) => e.type === 'persist' && e.hardState?.votedFor === 'b');
    const grant = effects.findIndex((e) => e.type === 'send' && e.message.type === 'RequestVoteResponse');
    expect(persist).toBeGreaterThanOrEqual(0);
    expect(persist).toBeLessThan(grant);
    // What storage holds after the persist: a restarted a refuses c in the same term.
    const hardState = (effects[persist] as { hardState: { term: number; votedFor: string | null } })
      .hardState;
    const [restarted] = init<string>(
      { id: 'a', voters: ['a', 'b', 'c'], electionTimeout: [150, 300], heartbeatInterval: 50, seed: 1 },
      { hardState, entries: [] },
    );
    const [, again] = run(restarted, receive(voteRequest('c', 'a', 1)));
    expect(again).toContainEqual(
      expect.objectContaining({ type: 'send', message: expect.objectContaining({ voteGranted: false }) }),
    );
  });
});

// The bug it catches: follower.ts: the term checked at a prevLogIndex moved up to the commit index is read one entry too far.
describe('§5.3 an AppendEntries that overlaps the commit index', () => {
  it('checks the term at the commit index against the entry the leader sent for it', () => {
    // a holds [1:t1, 2:t1] and has committed both (a heartbeat of leader b, term 2).
    const [committed] = run(
      follower('a', durable(2, entries(1, 1))),
      receive(append('b', 'a', 2, 2, 1, [], 2)),
    );
    expect(status(committed).commitIndex).toBe(2);
    // A retransmission from b anchored at 1 carries 2:t1 (committed, skipped) and 3:t2 (new, after a term change).
    const [next, effects] = run(
      committed,
      receive(append('b', 'a', 2, 1, 1, [entries(1, 1)[1]!, entry(3, 2, 'new')], 3)),
    );
    expect(sendsOf(effects)).toMatchObject([{ type: 'AppendEntriesResponse', success: true, index: 3 }]);
    expect(logOf(next).lastIndex).toBe(3);
    expect(status(next).commitIndex).toBe(3);
  });
});

// The bug it catches: raft.ts receive: an AppendEntriesResponse of an earlier term is not dropped but handled as an answer of the current term.
describe('§5.1 a leader drops AppendEntries answers of an earlier term', () => {
  it('commits nothing on an acknowledgement sent in an earlier term', () => {
    // a leads term 3; its no-op is at index 4. b's answer from term 2 names index 4, which then held another entry.
    const start = leader('a', durable(2, entries(1, 1, 2)));
    expect(status(start)).toMatchObject({ role: 'leader', term: 3, lastIndex: 4, commitIndex: 0 });
    const [next, effects] = run(start, receive(appendOk('b', 'a', 2, 4)));
    expect(status(next).commitIndex).toBe(0);
    expect(effects.filter((e) => e.type === 'apply')).toEqual([]);
    // The same acknowledgement in the leader's own term commits (a and b: a majority of three).
    expect(status(run(start, receive(appendOk('b', 'a', 3, 4)))[0]).commitIndex).toBe(4);
  });
});

// The bug it catches: raft.ts transferLeadership: TimeoutNow once the target holds the commit index rather than the leader's last entry.
describe('thesis §3.10 leadership transfer: the target holds the whole log before it is told', () => {
  it('a target that holds the committed entries but not the latest proposal is caught up first', () => {
    const made = cluster(['a', 'b', 'c'], {}, THESIS);
    elect(made, 'a');
    made.fire('a', 'heartbeat');
    settle(made);
    // x is appended and on its way; c holds everything committed (the no-op), not x.
    made.propose('a', 'x');
    expect(status(made.node('a').state!)).toMatchObject({ lastIndex: 2, commitIndex: 1 });
    const effects = made.step('a', { type: 'transferLeadership', to: 'c' })!;
    expect(sendsOf(effects).map((m) => m.type)).not.toContain('TimeoutNow');
    expect(sendsOf(effects)).toMatchObject([{ type: 'AppendEntries', to: 'c' }]);
    settle(made);
    expect(status(made.node('c').state!)).toMatchObject({ role: 'leader', lastIndex: 3 });
  });
});

// The bug it catches: log-writes.ts installSnapshot: the configuration entries after the snapshot are kept even when the log after it is discarded.
describe('§7 installing a snapshot that conflicts with the log', () => {
  it('discards the configuration entries with the rest of the log', () => {
    const added: Entry<string> = {
      index: 3,
      term: 1,
      kind: 'config',
      membership: { voters: ['a', 'b', 'c', 'd'], learners: [] },
    };
    // a holds 1:t1, 2:t1 and an uncommitted configuration entry 3:t1 adding d.
    const start = follower('a', durable(1, [...entries(1, 1), added]));
    expect(status(start).membership.voters).toEqual(['a', 'b', 'c', 'd']);
    // Leader b (term 2) sends a snapshot through 2 whose last entry has term 2: a's log after it is not the leader's.
    const [next] = run(
      start,
      receive({
        type: 'InstallSnapshot',
        term: 2,
        from: 'b',
        to: 'a',
        snapshot: {
          meta: { index: 2, term: 2, membership: { voters: ['a', 'b', 'c'], learners: [] } },
          data: 's',
        },
        round: 1,
      }),
    );
    expect(logOf(next).lastIndex).toBe(2);
    expect(status(next).membership.voters).toEqual(['a', 'b', 'c']);
  });
});
