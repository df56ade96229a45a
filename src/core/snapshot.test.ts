/** Log compaction (extended Raft paper §7; CONTRACT.md, Widening 1, rules 10–13). */
import { describe, expect, it } from 'vitest';
import {
  append,
  appendOk,
  appendRejected,
  cluster,
  config,
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
} from '../../test/support/core.js';
import {
  type Durable,
  type Event,
  type InstallSnapshot,
  init,
  logOf,
  type Snapshot,
  status,
} from './index.js';

const membership = { voters: ['a', 'b', 'c'], learners: [] };
const snap = (index: number, term: number, data: unknown = `state@${index}`): Snapshot => ({
  meta: { index, term, membership },
  data,
});
const install = (from: string, to: string, term: number, snapshot: Snapshot): InstallSnapshot => ({
  type: 'InstallSnapshot',
  term,
  from,
  to,
  snapshot,
  round: 0,
});
const snapshotEvent = (index: number, data: unknown = `state@${index}`): Event<string> => ({
  type: 'snapshot',
  index,
  data,
});

/** A follower that has applied entries 1..n of term 1 (its leader b said they are committed). */
function appliedFollower(n: number) {
  return run(follower('a'), receive(append('b', 'a', 1, 0, 0, entries(...Array(n).fill(1)), n)))[0];
}

describe('§7 the snapshot event (contract 10)', () => {
  it('persists the snapshot with the term and membership at its index, and compacts the log through it', () => {
    const [state, effects] = run(appliedFollower(5), snapshotEvent(3));
    expect(effects).toEqual([{ type: 'persist', snapshot: snap(3, 1) }]);
    expect(status(state)).toMatchObject({ snapshotIndex: 3, lastIndex: 5, commitIndex: 5 });
    expect(logOf(state).firstIndex).toBe(4);
    expect(logOf(state).entry(3)).toBeUndefined();
    expect(logOf(state).term(3)).toBe(1);
    expect(logOf(state).slice(1)).toEqual(entries(1, 1, 1, 1, 1).slice(3));
  });

  it('an index at or below the latest snapshot, past what was handed out, or not an integer changes nothing', () => {
    const [compacted] = run(appliedFollower(5), snapshotEvent(3));
    for (const index of [3, 2, 0, 6, 3.5, Number.NaN]) {
      const [next, effects] = run(compacted, snapshotEvent(index));
      expect(next).toBe(compacted);
      expect(effects).toEqual([]);
    }
  });

  it('the data is the service’s: it is neither copied nor frozen', () => {
    const data = { big: [1, 2, 3] };
    const [state, effects] = run(appliedFollower(2), snapshotEvent(2, data));
    expect(ofType(effects, 'persist')[0]!.snapshot!.data).toBe(data);
    expect(Object.isFrozen(data)).toBe(false);
    expect(logOf(state).firstIndex).toBe(3);
  });

  it('old states stay valid after compaction', () => {
    const before = appliedFollower(10_000);
    const [after] = run(before, snapshotEvent(9_000));
    expect(logOf(before).slice(1)).toHaveLength(10_000);
    expect(
      logOf(after)
        .slice(1)
        .map((e) => e.index),
    ).toEqual(Array.from({ length: 1000 }, (_, i) => 9_001 + i));
  });
});

describe('§7 restart from a snapshot (contract 12)', () => {
  const stored: Durable<string> = {
    hardState: { term: 2, votedFor: 'b' },
    snapshot: snap(10, 2),
    entries: [entry(11, 2, 'x'), entry(12, 2, 'y')],
  };

  it('init restores the snapshot before anything else, and the log continues after it', () => {
    const [state, effects] = init(config('a'), stored);
    expect(effects[0]).toEqual({ type: 'restore', snapshot: stored.snapshot });
    expect(effects.filter((e) => e.type === 'apply')).toEqual([]);
    expect(status(state)).toMatchObject({ commitIndex: 10, snapshotIndex: 10, lastIndex: 12, lastTerm: 2 });
  });

  it('applies go on right after the snapshot once the entries after it are committed', () => {
    const [restarted] = init(config('a'), stored);
    const [, effects] = run(restarted, receive(append('b', 'a', 2, 12, 2, [], 12)));
    expect(ofType(effects, 'apply')).toEqual([{ type: 'apply', entries: stored.entries }]);
  });

  it('refuses stored entries that do not continue the snapshot, or a snapshot past the stored term', () => {
    expect(() => init(config('a'), { ...stored, entries: [entry(12, 2)] })).toThrow(
      /contiguous from index 11/,
    );
    expect(() => init(config('a'), { ...stored, hardState: { term: 1, votedFor: null } })).toThrow(
      /past term/,
    );
  });
});

describe('§7 InstallSnapshot receiver (contract 12)', () => {
  it('a snapshot past the commit index is persisted, then restored, then acknowledged; a different log is discarded', () => {
    const start = follower('a', durable(1, entries(1, 1, 1)));
    const [state, effects] = run(start, receive(install('b', 'a', 2, snap(5, 2))));
    expect(effects.map((e) => e.type)).toEqual(['persist', 'restore', 'send', 'setTimer']);
    expect(effects[0]).toEqual({
      type: 'persist',
      hardState: { term: 2, votedFor: null },
      snapshot: snap(5, 2),
      truncateFrom: 6,
    });
    expect(effects[1]).toEqual({ type: 'restore', snapshot: snap(5, 2) });
    expect(sendsOf(effects)).toEqual([
      { type: 'InstallSnapshotResponse', term: 2, from: 'a', to: 'b', index: 5, round: 0 },
    ]);
    expect(status(state)).toMatchObject({
      commitIndex: 5,
      lastIndex: 5,
      lastTerm: 2,
      snapshotIndex: 5,
      leaderId: 'b',
    });
  });

  it('keeps the entries after the snapshot when it holds the snapshot’s last entry with the same term', () => {
    const start = follower('a', durable(1, entries(1, 1, 1, 1, 1)));
    const [state, effects] = run(start, receive(install('b', 'a', 1, snap(3, 1))));
    expect(ofType(effects, 'persist')).toEqual([{ type: 'persist', snapshot: snap(3, 1) }]);
    expect(status(state)).toMatchObject({ commitIndex: 3, lastIndex: 5, snapshotIndex: 3 });
    expect(
      logOf(state)
        .slice(1)
        .map((e) => e.index),
    ).toEqual([4, 5]);
  });

  it('a stale or duplicated snapshot is answered with the commit index and changes nothing else', () => {
    const [installed] = run(follower('a'), receive(install('b', 'a', 2, snap(5, 2))));
    for (const stale of [snap(5, 2), snap(4, 2)]) {
      const [next, effects] = run(installed, receive(install('b', 'a', 2, stale)));
      expect(status(next)).toEqual(status(installed));
      expect(effects.filter((e) => e.type === 'persist' || e.type === 'restore')).toEqual([]);
      expect(sendsOf(effects)).toEqual([
        { type: 'InstallSnapshotResponse', term: 2, from: 'a', to: 'b', index: 5, round: 0 },
      ]);
    }
  });

  it('a delayed AppendEntries from below the snapshot is answered with the commit index, never applied twice', () => {
    const [installed] = run(follower('a'), receive(install('b', 'a', 2, snap(5, 2))));
    const [next, effects] = run(installed, receive(append('b', 'a', 2, 1, 2, [entry(2, 2, 'old')], 2)));
    expect(sendsOf(effects)).toEqual([appendOk('a', 'b', 2, 5)]);
    expect(ofType(effects, 'apply')).toEqual([]);
    expect(status(next).lastIndex).toBe(5);
    // And one that reaches past the snapshot appends only what is new.
    const [longer, more] = run(
      installed,
      receive(append('b', 'a', 2, 4, 2, [entry(5, 2), entry(6, 2, 'z')], 6)),
    );
    expect(ofType(more, 'apply')).toEqual([{ type: 'apply', entries: [entry(6, 2, 'z')] }]);
    expect(status(longer).lastIndex).toBe(6);
  });
});

describe('§7 the leader sends its snapshot (contract 13)', () => {
  /**
   * A leader of term 2 (entries 1..3 of term 1, its no-op at 4) that b acknowledged, compacted through 3, and
   * whose follower c turned out to lack entry 2: a snapshot is on its way to c.
   */
  function compactedLeader() {
    let state = leader('a', durable(1, entries(1, 1, 1)));
    state = run(state, receive(appendOk('b', 'a', 2, 4)))[0];
    state = run(state, snapshotEvent(3))[0];
    return run(state, receive(appendRejected('c', 'a', 2, 3, 0, 2)))[0];
  }

  it('a follower whose next entry was compacted away gets the snapshot, and nothing more until it answers', () => {
    const [state, effects] = run(
      leader('a', durable(1, entries(1, 1, 1))),
      receive(appendOk('b', 'a', 2, 4)),
    );
    const [compacted] = run(state, snapshotEvent(3));
    const [, rejected] = run(compacted, receive(appendRejected('c', 'a', 2, 3, 0, 2)));
    expect(sendsOf(rejected)).toEqual([
      { type: 'InstallSnapshot', term: 2, from: 'a', to: 'c', snapshot: compacted.log.snapshot, round: 0 },
    ]);
    expect(effects).toBeDefined();
    const [, proposed] = run(compactedLeader(), propose('x'));
    expect(sendsOf(proposed).map((m) => m.to)).toEqual(['b']);
  });

  it('heartbeats still reach the follower; the snapshot is sent again only after an election timeout of silence', () => {
    let state = compactedLeader();
    let snapshots = 0;
    let heartbeatsToC = 0;
    for (let beat = 0; beat < 12; beat++) {
      const [next, effects] = run(state, timeout('heartbeat'));
      state = next;
      for (const m of sendsOf(effects)) {
        if (m.to !== 'c') continue;
        if (m.type === 'InstallSnapshot') snapshots++;
        else heartbeatsToC++;
      }
    }
    // 12 heartbeats of 50 ms against a 150 ms minimum election timeout: a resend every 3 or 4 beats at most.
    expect(heartbeatsToC).toBeGreaterThanOrEqual(8);
    expect(snapshots).toBeGreaterThanOrEqual(1);
    expect(snapshots).toBeLessThanOrEqual(4);
  });

  it('once the follower has installed it, the leader streams the entries after it', () => {
    const state = run(compactedLeader(), propose('x'))[0];
    const [, effects] = run(
      state,
      receive({ type: 'InstallSnapshotResponse', term: 2, from: 'c', to: 'a', index: 3, round: 0 }),
    );
    expect(sendsOf(effects)).toMatchObject([
      { type: 'AppendEntries', to: 'c', prevLogIndex: 3, prevLogTerm: 1 },
    ]);
    expect(sendsOf(effects)[0]).toHaveProperty('entries', [entry(4, 2), entry(5, 2, 'x')]);
  });

  it('a lagging follower catches up by snapshot through a whole cluster, and every node applies each entry once', () => {
    const made = cluster();
    elect(made, 'a');
    made.setConnected('c', false);
    for (let i = 0; i < 20; i++) made.propose('a', `v${i}`);
    settle(made);
    made.fire('a', 'heartbeat');
    settle(made);
    made.snapshot('a', 'state', made.node('a').appliedIndex);
    made.snapshot('b', 'state', made.node('b').appliedIndex);
    made.setConnected('c', true);
    // The appends lost while c was away are given up on after an election timeout's worth of heartbeats.
    for (let beat = 0; beat < 5; beat++) {
      made.fire('a', 'heartbeat');
      settle(made);
    }
    expect(status(made.node('c').state!)).toMatchObject({
      commitIndex: 21,
      lastIndex: 21,
      snapshotIndex: 21,
    });
    expect(made.node('c').durable.latestSnapshot?.meta.index).toBe(21);
  });
});
