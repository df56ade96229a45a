/** The checker on hand-made histories: legal ones pass, and each classic anomaly is caught and explained. */
import { describe, expect, it } from 'vitest';
import { checkLinearizable } from './check.js';
import { describeResult } from './describe.js';
import { type KvOperation, kvModel, UNOBSERVED } from './kv-model.js';
import type { Model } from './model.js';
import { cas, del, get, put } from './test-support.js';

const check = (history: KvOperation[]) => checkLinearizable(kvModel, history);

describe('legal histories', () => {
  it('the empty history', () => {
    expect(check([]).verdict).toBe('linearizable');
  });

  it('a read concurrent with a write may see either value', () => {
    const history = [put(1, 'x', 'a', 0, 10), put(1, 'x', 'b', 20, 40), get(2, 'x', 'a', 25, 30)];
    expect(check(history).verdict).toBe('linearizable');
    expect(check([...history.slice(0, 2), get(2, 'x', 'b', 25, 30)]).verdict).toBe('linearizable');
  });

  it('concurrent writes take effect in either order, and reads agree on one', () => {
    const history = [
      put(1, 'x', 'a', 0, 10),
      put(2, 'x', 'b', 0, 10),
      get(3, 'x', 'a', 20, 21),
      get(4, 'x', 'a', 22, 23),
    ];
    expect(check(history).verdict).toBe('linearizable');
  });

  it('a write of unknown outcome may have happened, late, or never', () => {
    const late = [
      put(1, 'x', 'a', 0, 5),
      put(2, 'x', 'b', 1, null),
      get(3, 'x', 'a', 10, 11),
      get(3, 'x', 'b', 20, 21),
    ];
    expect(check(late).verdict).toBe('linearizable');
    const never = [put(1, 'x', 'a', 0, 5), put(2, 'x', 'b', 1, null), get(3, 'x', 'a', 10, 11)];
    expect(check(never).verdict).toBe('linearizable');
  });

  it('compare-and-set, delete and previous values', () => {
    const history: KvOperation[] = [
      cas(1, 'x', null, 'a', 0, 10),
      cas(2, 'x', 'a', 'b', 11, 20),
      cas(3, 'x', 'a', 'c', 21, 30, false),
      {
        client: 1,
        input: { op: 'put', key: 'x', value: 'd' },
        invoked: 31,
        completed: 32,
        output: { previous: 'b' },
      },
      { client: 2, input: { op: 'delete', key: 'x' }, invoked: 33, completed: 34, output: { deleted: true } },
      get(3, 'x', null, 35, 36),
    ];
    expect(check(history).verdict).toBe('linearizable');
  });

  it('keys are independent partitions', () => {
    const history = [
      put(1, 'x', 'a', 0, 10),
      put(2, 'y', 'b', 0, 10),
      get(3, 'x', 'a', 11, 12),
      get(3, 'y', 'b', 13, 14),
    ];
    const result = check(history);
    expect(result.verdict).toBe('linearizable');
    expect(result.partitions.map((p) => p.partition)).toEqual(['x', 'y']);
  });
});

describe('anomalies', () => {
  it('a stale read: the read alone, from the state the newer write left', () => {
    const history = [
      put(1, 'x', 'a', 0, 10),
      put(1, 'x', 'b', 20, 30),
      get(2, 'y', null, 31, 32),
      get(2, 'x', 'a', 40, 50),
      get(3, 'x', 'b', 60, 70),
    ];
    const result = check(history);
    expect(result.verdict).toBe('not-linearizable');
    const failure = result.failure!;
    expect(failure.partition).toBe('x');
    expect(failure.culprit).toBe(history[3]);
    expect(failure.window).toEqual([history[3]]);
    expect(failure.startStates).toEqual(['b']);
    expect(failure.fromInit).toBe(false);
    expect(failure.verified).toBe(true);
    expect(describeResult(kvModel as Model<unknown, never, never>, result)).toContain(
      '← cannot be linearized',
    );
  });

  it('a lost write: acknowledged, then never seen', () => {
    const history = [put(1, 'x', 'a', 0, 10), put(2, 'x', 'b', 20, 30), get(1, 'x', 'a', 40, 50)];
    const { verdict, failure } = check(history);
    expect(verdict).toBe('not-linearizable');
    expect(failure!.window).toEqual([history[2]]);
    expect(failure!.startStates).toEqual([UNOBSERVED]); // no one read "b"
  });

  it('a compare-and-set that succeeded twice', () => {
    const history = [put(1, 'x', '0', 0, 10), cas(1, 'x', '0', '1', 20, 30), cas(2, 'x', '0', '2', 25, 35)];
    const { verdict, failure } = check(history);
    expect(verdict).toBe('not-linearizable');
    expect(failure!.window).toContain(history[1]);
    expect(failure!.window).toContain(history[2]);
    expect(failure!.verified).toBe(true);
  });

  it('a read of a value never written', () => {
    const history = [put(1, 'x', 'a', 0, 10), put(3, 'x', 'c', 5, null), get(2, 'x', 'b', 20, 30)];
    const { verdict, failure } = check(history);
    expect(verdict).toBe('not-linearizable');
    expect(failure!.culprit).toBe(history[2]);
    expect(failure!.window).toContain(history[2]);
  });

  it('a read that goes back in time between two readers', () => {
    const history = [
      put(1, 'x', 'a', 0, 10),
      put(1, 'x', 'b', 20, 100),
      get(2, 'x', 'b', 30, 40),
      get(3, 'x', 'a', 50, 60),
    ];
    const { verdict, failure } = check(history);
    expect(verdict).toBe('not-linearizable');
    expect(failure!.window).toEqual([history[1], history[2], history[3]]);
  });

  it('a delete that was lost', () => {
    const history = [put(1, 'x', 'a', 0, 10), del(1, 'x', 20, 30), get(2, 'x', 'a', 40, 50)];
    expect(check(history).verdict).toBe('not-linearizable');
  });

  it('a read of a value never written that happens to be the abstraction’s own placeholder', () => {
    // Unobserved values become UNOBSERVED: a client that reads that very string must not meet them there.
    expect(check([put(1, 'x', 'q', 0, 10), get(2, 'x', UNOBSERVED, 20, 30)]).verdict).toBe(
      'not-linearizable',
    );
    const swapped = [put(1, 'x', 'q', 0, 10), cas(2, 'x', UNOBSERVED, 'r', 20, 30), get(2, 'x', 'r', 40, 50)];
    expect(check(swapped).verdict).toBe('not-linearizable');
  });
});

describe('custom models', () => {
  /** A map of keys to values as its state, one partition: a Map that JSON would write as "{}". */
  const mapModel = (key?: (state: ReadonlyMap<string, string>) => unknown) =>
    ({
      init: () => new Map<string, string>(),
      step: (
        state: ReadonlyMap<string, string>,
        input: { op: 'put' | 'get'; key: string; value?: string },
        output: string | null | undefined,
      ) => {
        if (input.op === 'put') return new Map(state).set(input.key, input.value!);
        return output === undefined || output === (state.get(input.key) ?? null) ? state : undefined;
      },
      ...(key !== undefined && { key }),
    }) satisfies Model<
      ReadonlyMap<string, string>,
      { op: 'put' | 'get'; key: string; value?: string },
      string | null
    >;
  const op = (
    client: string,
    input: { op: 'put' | 'get'; key: string; value?: string },
    output: string | null,
    invoked: number,
    completed: number,
  ) => ({ client, input, output, invoked, completed });
  const stale = [
    op('a', { op: 'put', key: 'k', value: '1' }, null, 0, 10),
    op('b', { op: 'get', key: 'k' }, null, 20, 30),
  ];

  it('with a state JSON cannot tell apart and no key, are refused rather than checked wrong', () => {
    // JSON made every Map "{}": the search took the state after the put for the initial one, and passed this.
    expect(() => checkLinearizable(mapModel(), stale)).toThrow(
      /not plain JSON data .* give the model a `key`/,
    );
  });

  it('with a key, are checked', () => {
    const keyed = mapModel((state) => JSON.stringify([...state]));
    expect(checkLinearizable(keyed, stale).verdict).toBe('not-linearizable');
    const fresh = [stale[0]!, { ...stale[1]!, output: '1' }];
    expect(checkLinearizable(keyed, fresh).verdict).toBe('linearizable');
  });
});

describe('budget', () => {
  it('answers "unknown" when a partition runs out of time', () => {
    // Many concurrent unknown writes and an impossible read at the end: exponential without a linearization.
    const history: KvOperation[] = Array.from({ length: 40 }, (_, i) => put(i, 'x', `v${i}`, 0, null));
    history.push(get(99, 'x', 'never', 10, 11), put(98, 'x', 'w', 0, 5));
    const result = checkLinearizable(kvModel, history, { budgetMs: 50 });
    expect(['unknown', 'not-linearizable']).toContain(result.verdict);
  });

  it('refuses a malformed history', () => {
    expect(() => check([put(1, 'x', 'a', 10, 5)])).toThrow(RangeError);
  });
});
