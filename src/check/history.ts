/**
 * A history: what clients saw of a concurrent object, one record per operation with its invocation time, its
 * completion time and output, or no completion at all when the outcome is unknown (a write that timed out may
 * or may not have taken effect, at any time after its invocation).
 *
 * Times are numbers in any unit that only grows (milliseconds from `performance.now()`, a logical clock); two
 * operations are concurrent unless one completed strictly before the other was invoked.
 */

export interface Operation<Input, Output> {
  /** Who issued it: a client issues one operation at a time. Used for reports and drawings only. */
  readonly client: string | number;
  readonly input: Input;
  readonly invoked: number;
  /** When the client got the answer; absent when the outcome is unknown. */
  readonly completed?: number;
  /** The answer; ignored when `completed` is absent. */
  readonly output?: Output;
}

export type History<Input, Output> = readonly Operation<Input, Output>[];

export function isUnknown(operation: Operation<unknown, unknown>): boolean {
  return operation.completed === undefined;
}

/** Why `history` is malformed (a completion before its invocation, a time that is not a number), or undefined. */
export function historyProblem(history: History<unknown, unknown>): string | undefined {
  for (const [index, { invoked, completed }] of history.entries()) {
    if (!Number.isFinite(invoked)) return `operation ${index}: invoked must be a finite number`;
    if (completed !== undefined && !(Number.isFinite(completed) && completed >= invoked))
      return `operation ${index}: completed must be a finite number no earlier than invoked`;
  }
  return undefined;
}

/**
 * Records a history as it happens, with `performance.now()` times (or a clock of your own): call `invoke` when
 * a request leaves, then `complete` with its answer or `unknown` when you gave up on it.
 */
export class HistoryRecorder<Input, Output> {
  readonly #operations: Operation<Input, Output>[] = [];
  readonly #pending = new Map<number, { client: string | number; input: Input; invoked: number }>();
  #next = 0;

  constructor(private readonly clock: () => number = () => performance.now()) {}

  /** Returns the operation's handle, for `complete` or `unknown`. */
  invoke(client: string | number, input: Input): number {
    const id = this.#next++;
    this.#pending.set(id, { client, input, invoked: this.clock() });
    return id;
  }

  complete(id: number, output: Output): void {
    const completed = this.clock();
    this.#operations.push({ ...this.#take(id), completed, output });
  }

  /** The operation may or may not have taken effect. */
  unknown(id: number): void {
    this.#operations.push(this.#take(id));
  }

  /** The operation certainly did not take effect (refused before it reached the object): it is forgotten. */
  discard(id: number): void {
    this.#take(id);
  }

  /** The operations so far, with those still pending as unknown. */
  history(): Operation<Input, Output>[] {
    return [...this.#operations, ...this.#pending.values()];
  }

  #take(id: number) {
    const pending = this.#pending.get(id);
    if (pending === undefined) throw new Error(`operation ${id} is not pending`);
    this.#pending.delete(id);
    return pending;
  }
}
