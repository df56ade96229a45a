/**
 * Each check fires on the situation it is about, shown on small hand-made logs and states (the mutants show
 * that random histories reach such situations; these show that the checks then speak).
 */
import { describe, expect, it } from 'vitest';
import { type Config, type Entry, init, logOf, type RaftState, step } from '../src/core/index.js';
import { DurableLog } from '../src/effects/storage/storage.js';
import type { SimNode } from '../src/runtime/simulator/index.js';
import { checkAppendOnly } from './checks/append-only.js';
import { checkCommitIndex } from './checks/commit-index.js';
import { CommittedLog } from './checks/committed.js';
import { checkNoElectableNodeLacks } from './checks/leader-completeness.js';
import { checkLogMatching } from './checks/log-matching.js';
import type { ReadableLog } from './checks/logs.js';
import type { Command } from './scenario.js';

function entries(...terms: number[]): Entry<Command>[] {
  return terms.map((term, i) => ({ index: i + 1, term, kind: 'command', command: `x${i + 1}` }));
}

function log(list: readonly Entry<Command>[]): ReadableLog {
  return { lastIndex: list.length, entry: (index) => list[index - 1] };
}

/** A one-node cluster elects itself at its first timeout and commits everything at once. */
function soloLeader(...commands: Command[]): RaftState<Command> {
  const config: Config = {
    id: 'a',
    voters: ['a'],
    electionTimeout: [300, 600],
    heartbeatInterval: 100,
    seed: 1,
  };
  let [state] = init<Command>(config);
  [state] = step(state, { type: 'timeout', timer: 'election' });
  for (const command of commands) [state] = step(state, { type: 'propose', command });
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
});

describe('leader append-only', () => {
  it('fires when a leader of a term holds a different entry than before, same term', () => {
    expect(() => checkAppendOnly(soloLeader('x'), soloLeader('y'))).toThrow(/leader append-only/);
    expect(() => checkAppendOnly(soloLeader('x'), soloLeader('x', 'y'))).not.toThrow();
  });
});

describe('commit index', () => {
  const one = soloLeader();
  const two = soloLeader('x');
  const held = [...entries(1), { index: 2, term: 1, kind: 'command', command: 'x' } as const];

  it('fires when it goes back', () => {
    expect(() => checkCommitIndex(two, one, [simNode('a', two, held)], 1)).toThrow(/commit index monotonic/);
  });

  it('fires when it passes what a majority holds on disk', () => {
    const nodes = [simNode('a', two, held), simNode('b', two, []), simNode('c', two, [])];
    expect(() => checkCommitIndex(one, two, nodes, 2)).toThrow(/commit index within a majority/);
  });
});

describe('leader completeness, early form', () => {
  const committed = new CommittedLog();
  const leader = soloLeader('x');
  committed.record(leader, 0, 2);
  const holder = log(logOf(leader).slice(1));

  it('fires when nodes lacking a committed entry could elect one of them', () => {
    const logs = [
      { id: 'a', log: holder },
      { id: 'b', log: log(entries(1)) },
      { id: 'c', log: log([]) },
    ];
    expect(() => checkNoElectableNodeLacks(logs, committed, 2)).toThrow(/b lacks .* yet b, c would elect it/);
  });

  it('is quiet when a majority is more up-to-date than every node lacking it', () => {
    const logs = [
      { id: 'a', log: holder },
      { id: 'b', log: holder },
      { id: 'c', log: log([]) },
    ];
    expect(() => checkNoElectableNodeLacks(logs, committed, 2)).not.toThrow();
  });
});
