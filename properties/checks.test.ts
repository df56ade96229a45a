/**
 * Each check fires on the situation it is about, shown on small hand-made logs and states (the mutants show
 * that random histories reach such situations; these show that the checks then speak).
 */
import { describe, expect, it } from 'vitest';
import { type Config, type Entry, init, type Membership, type RaftState, step } from '../src/core/index.js';
import { DurableLog } from '../src/effects/storage/storage.js';
import type { SimNode } from '../src/runtime/simulator/index.js';
import { checkAppendOnly } from './checks/append-only.js';
import { CommitIndexCheck } from './checks/commit-index.js';
import { CommittedLog } from './checks/committed.js';
import { checkNoElectableNodeLacks } from './checks/leader-completeness.js';
import { checkLogMatching } from './checks/log-matching.js';
import type { ReadableLog } from './checks/logs.js';
import { ReadChecker } from './checks/reads.js';
import { checkSnapshot } from './checks/snapshots.js';
import type { Command } from './scenario.js';
import { EMPTY_DIGEST, nextDigest } from './service.js';

function entries(...terms: number[]): Entry<Command>[] {
  return terms.map((term, i) => ({ index: i + 1, term, kind: 'command', command: `x${i + 1}` }));
}

/** A log holding `list`, from its first entry's index (the ones before it compacted, in term `baseTerm`). */
function log(list: readonly Entry<Command>[], baseTerm = 0): ReadableLog {
  const first = list[0]?.index ?? 1;
  const entry = (index: number) => list[index - first];
  return {
    firstIndex: first,
    lastIndex: first + list.length - 1,
    lastTerm: list[list.length - 1]?.term ?? baseTerm,
    entry,
    term: (index) => (index === first - 1 ? baseTerm : entry(index)?.term),
  };
}

const ABC = ['a', 'b', 'c'];
const config = (voters: string[]): Config => ({
  id: 'a',
  voters,
  electionTimeout: [300, 600],
  heartbeatInterval: 100,
  seed: 1,
  preVote: false,
});

/** A one-node cluster elects itself at its first timeout and commits everything at once. */
function soloLeader(...commands: Command[]): RaftState<Command> {
  let [state] = init<Command>(config(['a']));
  [state] = step(state, { type: 'timeout', timer: 'election' });
  for (const command of commands) [state] = step(state, { type: 'propose', command });
  return state;
}

/** `a`, elected by b's vote in a three-node cluster, has proposed x at index 2; nothing is committed yet. */
function leaderOfThree(): RaftState<Command> {
  let [state] = init<Command>(config(ABC));
  [state] = step(state, { type: 'timeout', timer: 'election' });
  const vote = { type: 'RequestVoteResponse', term: 1, from: 'b', to: 'a', voteGranted: true } as const;
  [state] = step(state, { type: 'receive', message: vote });
  [state] = step(state, { type: 'propose', command: 'x' });
  return state;
}

function simNode(
  id: string,
  state: RaftState<Command>,
  durable: readonly Entry<Command>[],
): SimNode<Command> {
  return {
    id,
    state,
    durable: new DurableLog({ hardState: { term: 1, votedFor: id }, entries: [...durable] }),
    timers: new Map(),
    incarnation: 1,
    appliedIndex: 0,
  };
}

const nodeMap = (...nodes: SimNode<Command>[]) => new Map(nodes.map((node) => [node.id, node]));

describe('log matching', () => {
  it('fires when two logs share an (index, term) but differ below it', () => {
    const a = entries(1, 1, 2);
    const b = [a[0]!, { ...a[1]!, command: 'other' }, a[2]!];
    expect(() => checkLogMatching({ name: 'a', log: log(a) }, { name: 'b', log: log(b) })).toThrow(
      /log matching/,
    );
  });

  it('allows logs that diverge after their last common (index, term)', () => {
    expect(() =>
      checkLogMatching(
        { name: 'a', log: log(entries(1, 1, 2)) },
        { name: 'b', log: log(entries(1, 1, 3, 3)) },
      ),
    ).not.toThrow();
  });

  it('compares down to the later snapshot, whose term must match the other log there', () => {
    const full = entries(1, 1, 2, 2);
    expect(() =>
      checkLogMatching({ name: 'a', log: log(full) }, { name: 'b', log: log(full.slice(2), 1) }),
    ).not.toThrow();
    expect(() =>
      checkLogMatching({ name: 'a', log: log(full) }, { name: 'b', log: log(full.slice(2), 3) }),
    ).toThrow(/a snapshot of term 3/);
  });
});

describe('leader append-only', () => {
  it('fires when a leader of a term holds a different entry than before, same term', () => {
    expect(() => checkAppendOnly(soloLeader('x'), soloLeader('y'))).toThrow(/leader append-only/);
    expect(() => checkAppendOnly(soloLeader('x'), soloLeader('x', 'y'))).not.toThrow();
  });

  it('allows a leader to compact a prefix into a snapshot', () => {
    const leader = soloLeader('x', 'y');
    const [compacted] = step(leader, { type: 'snapshot', index: 2, data: 'd' });
    expect(() => checkAppendOnly(leader, compacted)).not.toThrow();
  });
});

describe('commit index', () => {
  it('fires when it goes back', () => {
    const one = soloLeader();
    const two = soloLeader('x');
    expect(() => new CommitIndexCheck().check(two, one, 1, nodeMap())).toThrow(/commit index monotonic/);
  });

  it('fires when a leader commits past what a majority of its voters holds on disk', () => {
    const before = leaderOfThree();
    const ack = {
      type: 'AppendEntriesResponse',
      term: 1,
      from: 'b',
      to: 'a',
      success: true,
      index: 2,
      conflictTerm: 0,
      conflictIndex: 0,
      round: 0,
    } as const;
    const [after] = step(before, { type: 'receive', message: ack });
    const held = [
      { index: 1, term: 1, kind: 'noop' },
      { index: 2, term: 1, kind: 'command', command: 'x' },
    ] as const;
    const nodes = nodeMap(simNode('a', after, held), simNode('b', after, []), simNode('c', after, []));
    const check = new CommitIndexCheck();
    expect(() => check.check(before, after, 2, nodes)).toThrow(/commit index within a majority/);
    nodes.set('b', simNode('b', after, held));
    expect(() => check.check(before, after, 2, nodes)).not.toThrow();
  });

  it("fires when a follower commits past every leader's commit index", () => {
    let [follower] = init<Command>({ ...config(ABC), id: 'b' });
    const append = {
      type: 'AppendEntries',
      term: 1,
      from: 'a',
      to: 'b',
      prevLogIndex: 0,
      prevLogTerm: 0,
      entries: [{ index: 1, term: 1, kind: 'noop' }],
      leaderCommit: 1,
      round: 0,
    } as const;
    const before = follower;
    [follower] = step(follower, { type: 'receive', message: append });
    const check = new CommitIndexCheck();
    expect(() => check.check(before, follower, 1, nodeMap())).toThrow(/past every leader's/);
    const leader = soloLeader();
    check.check(leader, leader, 1, nodeMap());
    expect(() => check.check(before, follower, 1, nodeMap())).not.toThrow();
  });
});

describe('leader completeness, early form', () => {
  const committed = new CommittedLog({ voters: ABC, learners: [] });
  const leader = soloLeader('x');
  committed.record(leader, 0, 2);
  const holder = log(committed.all().map((each) => each.entry));
  const membership = { voters: ABC, learners: [] };

  it('fires when nodes lacking a committed entry could elect one of them', () => {
    const logs = [
      { id: 'a', log: holder, membership },
      { id: 'b', log: log(entries(1)), membership },
      { id: 'c', log: log([]), membership },
    ];
    expect(() => checkNoElectableNodeLacks(logs, committed)).toThrow(/b lacks .* yet b, c would elect it/);
  });

  it('is quiet when a majority is more up-to-date than every node lacking it', () => {
    const logs = [
      { id: 'a', log: holder, membership },
      { id: 'b', log: holder, membership },
      { id: 'c', log: log([]), membership },
    ];
    expect(() => checkNoElectableNodeLacks(logs, committed)).not.toThrow();
  });

  it('counts votes in the configuration the candidate holds, and both halves of a joint one', () => {
    const old: Membership = { voters: ['b', 'c', 'd'], learners: [] };
    const joint = { ...old, outgoing: ABC };
    const logs = (m: Membership) => [
      { id: 'a', log: holder, membership },
      { id: 'b', log: log(entries(1)), membership: m },
      { id: 'c', log: log([]), membership: m },
      { id: 'd', log: log([]), membership: m },
    ];
    expect(() => checkNoElectableNodeLacks(logs(old), committed)).toThrow(/b, c, d would elect it/);
    expect(() => checkNoElectableNodeLacks(logs(joint), committed)).toThrow(/b, c, d would elect it/);
    expect(() =>
      checkNoElectableNodeLacks(logs({ ...old, outgoing: ['a', 'b', 'e'] }), committed),
    ).not.toThrow();
  });
});

describe('snapshots', () => {
  const committed = new CommittedLog({ voters: ABC, learners: [] });
  committed.record(soloLeader('x', 'y'), 0, 3);
  const digest = (...list: Entry<Command>[]) => list.reduce(nextDigest, EMPTY_DIGEST);
  const [noop, x] = [committed.at(1)!.entry, committed.at(2)!.entry];
  const meta = { index: 2, term: 1, membership: { voters: ABC, learners: [] } };

  it('are quiet when meta and data are the committed prefix', () => {
    expect(() => checkSnapshot('a', 'took', { meta, data: digest(noop, x) }, committed)).not.toThrow();
  });

  it('fire on a snapshot past the committed log, of another term, configuration or state', () => {
    const data = digest(noop, x);
    const check = (snapshot: { meta: typeof meta; data: unknown }) => () =>
      checkSnapshot('a', 'took', snapshot, committed);
    expect(check({ meta: { ...meta, index: 4 }, data })).toThrow(/past the committed log/);
    expect(check({ meta: { ...meta, term: 2 }, data })).toThrow(/committed entry has term 1/);
    expect(check({ meta: { ...meta, membership: { voters: ['a'], learners: [] } }, data })).toThrow(
      /where \(voters=a,b,c\) is in force/,
    );
    expect(check({ meta, data: digest(noop) })).toThrow(/is not the committed state/);
  });
});

describe('reads', () => {
  it('fire on a ready read below what was committed when it began, and on a second answer', () => {
    const reads = new ReadChecker();
    reads.committed(5);
    reads.stepped('a', { type: 'read', id: 'r1' });
    reads.committed(7);
    expect(() => reads.answered('a', { type: 'readReady', id: 'r1', index: 5 })).not.toThrow();
    expect(() => reads.answered('a', { type: 'readFailed', id: 'r1', leaderId: null })).toThrow(
      /one answer per read/,
    );
    reads.stepped('a', { type: 'read', id: 'r2' });
    expect(() => reads.answered('a', { type: 'readReady', id: 'r2', index: 6 })).toThrow(
      /linearizable reads: .* but 7 was committed/,
    );
  });

  it('owe no answer for reads on a node that crashed', () => {
    const reads = new ReadChecker();
    reads.stepped('a', { type: 'read', id: 'r1' });
    reads.stepped('b', { type: 'read', id: 'r2' });
    reads.crashed('a');
    expect(reads.unanswered()).toEqual(['r2 on b']);
  });
});
