import { describe, expect, it } from 'vitest';
import type { KvCommand } from './commands.js';
import { KvStateMachine } from './state-machine.js';

describe('KvStateMachine', () => {
  it('puts, gets and deletes', () => {
    const kv = new KvStateMachine();
    expect(kv.apply({ op: 'get', key: 'k' })).toEqual({ op: 'get', value: null });
    expect(kv.apply({ op: 'put', key: 'k', value: 'v1' })).toEqual({ op: 'put', previous: null });
    expect(kv.apply({ op: 'put', key: 'k', value: 'v2' })).toEqual({ op: 'put', previous: 'v1' });
    expect(kv.apply({ op: 'get', key: 'k' })).toEqual({ op: 'get', value: 'v2' });
    expect(kv.apply({ op: 'delete', key: 'k' })).toEqual({ op: 'delete', previous: 'v2' });
    expect(kv.apply({ op: 'delete', key: 'k' })).toEqual({ op: 'delete', previous: null });
    expect(kv.size).toBe(0);
  });

  it('compares and sets, with null meaning absent on either side', () => {
    const kv = new KvStateMachine();
    expect(kv.apply({ op: 'cas', key: 'k', expected: 'x', value: 'y' })).toEqual({
      op: 'cas',
      swapped: false,
      current: null,
    });
    expect(kv.apply({ op: 'cas', key: 'k', expected: null, value: 'a' })).toEqual({
      op: 'cas',
      swapped: true,
      current: 'a',
    });
    expect(kv.apply({ op: 'cas', key: 'k', expected: null, value: 'b' })).toMatchObject({
      swapped: false,
      current: 'a',
    });
    expect(kv.apply({ op: 'cas', key: 'k', expected: 'a', value: null })).toMatchObject({ swapped: true });
    expect(kv.read('k')).toBeNull();
  });

  it('applies a retried request once and answers it as the first time', () => {
    const kv = new KvStateMachine();
    const first = kv.apply({ op: 'put', key: 'k', value: 'v1', session: { client: 'c', seq: 1 } });
    kv.apply({ op: 'put', key: 'k', value: 'other' });
    const retry = kv.apply({ op: 'put', key: 'k', value: 'v1', session: { client: 'c', seq: 1 } });
    expect(retry).toEqual(first);
    expect(kv.read('k')).toBe('other');
    expect(kv.apply({ op: 'put', key: 'k', value: 'v3', session: { client: 'c', seq: 5 } })).toEqual({
      op: 'put',
      previous: 'other',
    });
    expect(kv.apply({ op: 'put', key: 'k', value: 'v2', session: { client: 'c', seq: 2 } })).toEqual({
      op: 'refused',
      reason: 'stale request: client c already sent seq 5, this is seq 2',
    });
    expect(kv.read('k')).toBe('v3');
  });

  it('refuses a reused sequence number carrying a different command instead of answering it from the cache', () => {
    const kv = new KvStateMachine();
    const session = { client: 'c', seq: 1 };
    expect(kv.apply({ op: 'put', key: 'k', value: 'v1', session })).toEqual({ op: 'put', previous: null });
    const reused: KvCommand[] = [
      { op: 'put', key: 'k', value: 'v2', session },
      { op: 'put', key: 'other', value: 'v1', session },
      { op: 'delete', key: 'k', session },
      { op: 'get', key: 'k', session },
      { op: 'cas', key: 'k', expected: null, value: 'v1', session },
    ];
    for (const command of reused) {
      expect(kv.apply(command)).toEqual({
        op: 'refused',
        reason: 'client c reused seq 1 for a different command: use a new sequence number for a new request',
      });
    }
    expect(kv.read('k')).toBe('v1');
    expect(kv.read('other')).toBeNull();
    // The genuine retry still gets the first answer.
    expect(kv.apply({ op: 'put', key: 'k', value: 'v1', session })).toEqual({ op: 'put', previous: null });
    // cas: expected is part of the command.
    const cas = { client: 'd', seq: 1 };
    expect(kv.apply({ op: 'cas', key: 'x', expected: null, value: 'a', session: cas })).toMatchObject({
      swapped: true,
    });
    expect(kv.apply({ op: 'cas', key: 'x', expected: 'b', value: 'a', session: cas })).toMatchObject({
      op: 'refused',
    });
    expect(kv.apply({ op: 'cas', key: 'x', expected: null, value: 'a', session: cas })).toMatchObject({
      swapped: true,
    });
  });

  it('refuses an unknown client id past sequence 1, so that an expired session is not applied again', () => {
    const kv = new KvStateMachine(1);
    const refusal = {
      op: 'refused',
      reason: 'unknown or expired session: start a new client id at sequence 1',
    };
    expect(kv.apply({ op: 'put', key: 'k', value: 'v', session: { client: 'a', seq: 2 } })).toEqual(refusal);
    expect(kv.read('k')).toBeNull();
    expect(kv.sessions).toBe(0);
    kv.apply({ op: 'put', key: 'k', value: 'a1', session: { client: 'a', seq: 1 } });
    kv.apply({ op: 'put', key: 'k', value: 'a2', session: { client: 'a', seq: 2 } });
    kv.apply({ op: 'put', key: 'j', value: 'b1', session: { client: 'b', seq: 1 } }); // evicts a
    kv.apply({ op: 'put', key: 'k', value: 'changed' });
    expect(kv.apply({ op: 'put', key: 'k', value: 'a2', session: { client: 'a', seq: 2 } })).toEqual(refusal);
    expect(kv.read('k')).toBe('changed');
  });

  it('does not keep the results of reads: a retried get reads again', () => {
    const kv = new KvStateMachine();
    const session = { client: 'c', seq: 1 };
    expect(kv.apply({ op: 'get', key: 'k', session })).toEqual({ op: 'get', value: null });
    kv.apply({ op: 'put', key: 'k', value: 'v' });
    expect(kv.apply({ op: 'get', key: 'k', session })).toEqual({ op: 'get', value: 'v' });
    expect(kv.apply({ op: 'put', key: 'k', value: 'w', session })).toMatchObject({ op: 'refused' });
    expect(kv.apply({ op: 'get', key: 'k', session: { client: 'c', seq: 2 } })).toEqual({
      op: 'get',
      value: 'v',
    });
  });

  it('bounds its sessions, forgetting the least recently used client', () => {
    const kv = new KvStateMachine(2);
    const put = (client: string, seq: number) =>
      kv.apply({ op: 'put', key: client, value: String(seq), session: { client, seq } });
    put('a', 1);
    put('b', 1);
    put('a', 1); // a retry counts as a use: b is now the least recently used
    put('c', 1);
    expect(kv.sessions).toBe(2);
    // a's retry is still recognized; b was forgotten, so its retry is applied again.
    kv.apply({ op: 'put', key: 'a', value: 'changed' });
    put('a', 1);
    expect(kv.read('a')).toBe('changed');
    kv.apply({ op: 'put', key: 'b', value: 'changed' });
    put('b', 1);
    expect(kv.read('b')).toBe('1');
  });

  it('refuses malformed commands without throwing', () => {
    const kv = new KvStateMachine();
    const bad: unknown[] = [
      null,
      { op: 'put', key: 'k' },
      { op: 'drop', key: 'k' },
      { op: 'get', key: 3 },
      { op: 'cas', key: 'k', expected: 1, value: 'v' },
      { op: 'get', key: 'k', session: { client: '', seq: 1 } },
      { op: 'get', key: 'k', session: { client: 'c', seq: 0 } },
    ];
    for (const command of bad) expect(kv.apply(command as KvCommand)).toMatchObject({ op: 'refused' });
    expect(kv.size).toBe(0);
  });

  it('applies a batch command by command, in order, with a result for each', () => {
    const kv = new KvStateMachine();
    const session = { client: 'c', seq: 1 };
    expect(
      kv.apply({
        op: 'batch',
        commands: [
          { op: 'put', key: 'k', value: 'v', session },
          { op: 'put', key: 'k', value: 'v', session },
          { op: 'get', key: 'k' },
          { op: 'batch', commands: [] } as unknown as KvCommand,
        ],
      }),
    ).toEqual({
      op: 'batch',
      results: [
        { op: 'put', previous: null },
        { op: 'put', previous: null },
        { op: 'get', value: 'v' },
        { op: 'refused', reason: 'malformed command: key must be a string' },
      ],
    });
    expect(kv.apply({ op: 'batch', commands: 'nope' } as unknown as KvCommand)).toMatchObject({
      op: 'refused',
    });
  });

  it('dumps its data sorted by key', () => {
    const kv = new KvStateMachine();
    for (const key of ['b', 'a', 'c']) kv.apply({ op: 'put', key, value: key.toUpperCase() });
    expect(kv.dump()).toEqual([
      ['a', 'A'],
      ['b', 'B'],
      ['c', 'C'],
    ]);
  });
});
