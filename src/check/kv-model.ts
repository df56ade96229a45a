/**
 * The key-value register model: each key holds a string or nothing (null), and `get`, `put`, `delete` and
 * compare-and-set act on one key, so keys are independent partitions. Outputs carry what pureraft's HTTP API
 * answers; every field is optional except a get's value and a CAS's `swapped`, and each one present is
 * checked, so richer answers make a stronger check.
 */
import type { KvOperation as KvServiceOperation } from '../kv/commands.js';
import type { Operation } from './history.js';
import type { Model } from './model.js';

/** The service's own operations (src/kv/commands.ts): get, put, delete and compare-and-set of one key. */
export type KvInput = KvServiceOperation;

export interface KvOutput {
  /** get: the value read (null: absent). */
  readonly value?: string | null;
  /** put: the value it replaced. */
  readonly previous?: string | null;
  /** delete: whether there was a value. */
  readonly deleted?: boolean;
  /** cas: whether it swapped. */
  readonly swapped?: boolean;
  /** cas that did not swap: the value the key held instead. */
  readonly current?: string | null;
}

export type KvOperation = Operation<KvInput, KvOutput>;

/** The register's state: its value, or null when absent. */
export type KvState = string | null;

function step(state: KvState, input: KvInput, output: KvOutput | undefined): KvState | undefined {
  switch (input.op) {
    case 'get':
      return output === undefined || output.value === state ? state : undefined;
    case 'put':
      return output?.previous === undefined || output.previous === state ? input.value : undefined;
    case 'delete':
      return output?.deleted === undefined || output.deleted === (state !== null) ? null : undefined;
    case 'cas': {
      const matches = state === input.expected;
      if (output === undefined) return matches ? input.value : state;
      if (output.swapped !== matches) return undefined;
      if (matches) return input.value;
      return output.current === undefined || output.current === state ? state : undefined;
    }
  }
}

/** Whether the operation certainly wrote the key (an unknown one may have). */
function writes(operation: KvOperation): boolean {
  const { input, output, completed } = operation;
  if (input.op === 'get') return false;
  if (input.op === 'cas') return completed === undefined || output?.swapped === true;
  return true;
}

function written(input: KvInput): KvState {
  return input.op === 'put' || input.op === 'cas' ? input.value : null;
}

/**
 * After `before`, the key holds what the last write left: a write nothing known came after in real time, or
 * any write whose outcome is unknown (it may have landed last). With no known write it may still hold null.
 */
function startStates(before: readonly KvOperation[]): KvState[] {
  const known = before.filter((operation) => writes(operation) && operation.completed !== undefined);
  const lastKnownInvoked = Math.max(Number.NEGATIVE_INFINITY, ...known.map((operation) => operation.invoked));
  const candidates = new Set<KvState>();
  if (known.length === 0) candidates.add(null);
  for (const operation of before) {
    if (!writes(operation)) continue;
    // A known write that completed before some other known write started is overwritten for sure.
    if (operation.completed === undefined || operation.completed >= lastKnownInvoked)
      candidates.add(written(operation.input));
  }
  return [...candidates];
}

/** What every value written but never observed becomes: no client can tell such values apart. */
export const UNOBSERVED = '\u0000unobserved';

/**
 * Values are observed through a get's value, a put's previous value, a failed CAS's current value and any
 * CAS's expected value; a value written and never observed is replaced by UNOBSERVED. Sound both ways: no
 * output and no comparison tells two unobserved values apart, or one from UNOBSERVED.
 */
function abstract(operations: readonly KvOperation[]): KvOperation[] {
  const observed = new Set<string | null | undefined>();
  for (const { input, output, completed } of operations) {
    if (input.op === 'cas') observed.add(input.expected);
    if (completed === undefined || output === undefined) continue;
    observed.add(output.value);
    observed.add(output.previous);
    observed.add(output.current);
  }
  // A history that observes the value UNOBSERVED itself could not tell it from the abstraction's: left as it is.
  if (observed.has(UNOBSERVED)) return [...operations];
  return operations.map((operation) => {
    const { input } = operation;
    if ((input.op !== 'put' && input.op !== 'cas') || input.value === null || observed.has(input.value))
      return operation;
    return { ...operation, input: { ...input, value: UNOBSERVED } };
  });
}

const quote = (value: string | null | undefined) =>
  value === null ? 'nil' : value === UNOBSERVED ? '(a value no one read)' : JSON.stringify(value);

function describe(input: KvInput, output: KvOutput | undefined): string {
  const call =
    input.op === 'get'
      ? `get(${input.key})`
      : input.op === 'put'
        ? `put(${input.key}, ${quote(input.value)})`
        : input.op === 'delete'
          ? `delete(${input.key})`
          : `cas(${input.key}, ${quote(input.expected)} → ${quote(input.value)})`;
  if (output === undefined) return `${call} → ?`;
  switch (input.op) {
    case 'get':
      return `${call} → ${quote(output.value)}`;
    case 'put':
      return output.previous === undefined ? `${call} → ok` : `${call} → ok, was ${quote(output.previous)}`;
    case 'delete':
      return output.deleted === undefined
        ? `${call} → ok`
        : `${call} → ${output.deleted ? 'deleted' : 'absent'}`;
    case 'cas':
      return output.swapped
        ? `${call} → swapped`
        : `${call} → failed${output.current === undefined ? '' : `, was ${quote(output.current)}`}`;
  }
}

export const kvModel: Model<KvState, KvInput, KvOutput> = {
  init: () => null,
  step,
  partition: (input) => input.key,
  // null and every string are distinct primitives already.
  key: (state) => state,
  readOnly: (input) => input.op === 'get',
  abstract,
  startStates,
  describe,
};
