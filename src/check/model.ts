/**
 * A model: the sequential specification a history is checked against. Write one for your own object:
 *
 *   const counter: Model<number, { op: 'add'; n: number } | { op: 'read' }, number> = {
 *     init: () => 0,
 *     step: (state, input, output) => {
 *       if (input.op === 'add') return state + input.n;             // any output (or an unknown one) is fine
 *       return output === undefined || output === state ? state : undefined;   // a read must see the state
 *     },
 *   };
 *
 * `step` is called many times per operation during a search, so keep it cheap and pure. States must be
 * immutable values: the search keeps old ones and returns to them.
 */
import type { Operation } from './history.js';

export interface Model<State, Input, Output> {
  /** The object's state before any operation. */
  init(): State;
  /**
   * The state after `input` is applied to `state` and answers `output`; undefined when the object could not
   * have answered `output` from `state`. `output` is undefined for an operation whose outcome is unknown: it
   * took effect, with whatever answer the object gives.
   */
  step(state: State, input: Input, output: Output | undefined): State | undefined;
  /**
   * P-compositionality: operations on different partitions (keys of a map, say) never affect each other, so
   * each partition is checked alone, which is exponentially cheaper. Default: one partition.
   */
  partition?(input: Input): string;
  /**
   * A primitive (string, number, null, ...) that is equal for equal states, for memoizing the search. Default:
   * the state itself when it is a primitive, else its JSON; a state that is not plain JSON data (a Map, a Set,
   * a class instance, NaN or undefined inside) then throws, since JSON would not tell such states apart.
   */
  key?(state: State): unknown;
  /** A primitive equal for equal inputs (unknown operations with equal inputs are interchangeable). Default: JSON. */
  inputKey?(input: Input): unknown;
  /**
   * The partition's operations with whatever no output can tell apart made equal (values written that no one
   * ever read, say), which makes the search's states and interchangeable operations coincide. Must keep the
   * history linearizable exactly when it was, and return one operation for each, in the same order.
   */
  abstract?(operations: readonly Operation<Input, Output>[]): Operation<Input, Output>[];
  /** Whether the operation never changes the state: one with an unknown outcome is then left out. */
  readOnly?(input: Input): boolean;
  /**
   * A superset of the states the object can be in after the operations `before` (all of which completed, or
   * have an unknown outcome, before the rest of the history started), in any order. Lets a failure be reported
   * as a short window in the middle of a history; without it a window always starts from `init()`.
   */
  startStates?(before: readonly Operation<Input, Output>[]): State[];
  /** One line for an operation in reports and drawings, e.g. `put(x, "1")` and `→ ok`. */
  describe?(input: Input, output: Output | undefined): string;
}

/** The memoization key of a state, following `model.key` or the default. */
export function stateKeyOf<S>(model: Model<S, unknown, unknown>): (state: S) => unknown {
  if (model.key !== undefined) return model.key.bind(model);
  return (state) => {
    if (typeof state !== 'object' || state === null) return state;
    // JSON would make every Map and Set "{}" and NaN null, and the search would take different states for one.
    if (!isPlainJson(state))
      throw new TypeError(
        `the model's state ${String(state)} is not plain JSON data (a Map, a Set, a class instance, NaN, ` +
          'undefined, ...): give the model a `key` that tells its states apart',
      );
    return JSON.stringify(state);
  };
}

/** Data JSON keeps exactly: null, strings, booleans, finite numbers (not -0), arrays and plain objects of them. */
function isPlainJson(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return true;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!(i in value) || !isPlainJson(value[i])) return false;
        return true;
      }
      const prototype = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) return false;
      return Object.values(value).every(isPlainJson);
    }
    default:
      return false;
  }
}
