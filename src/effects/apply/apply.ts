/**
 * The apply effect interpreter (CONTRACT.md, Semantics 4): committed entries go to the service's state
 * machine in strictly increasing index order with no gaps, each exactly once per incarnation. A gap or a
 * repeat is a bug in whoever produced the effect, so it throws rather than corrupt the service's state.
 */
import type { Entry } from '../../core/index.js';

/** A deterministic service replicated by the log: the same commands in the same order give the same results. */
export interface StateMachine<C, R> {
  /** Applies one committed command. It must not throw: a throw would stop every replica at the same entry. */
  apply(command: C, index: number): R;
}

/** What was applied at an index. */
export interface Applied<C, R> {
  readonly entry: Entry<C>;
  /** The state machine's result for a command entry; undefined for a noop or config entry. */
  readonly result: R | undefined;
}

export class Applier<C, R> {
  #appliedIndex = 0;

  constructor(
    private readonly machine: StateMachine<C, R>,
    /** Told of every applied entry, in order: how a runtime answers the client that proposed it. */
    private readonly onApplied: (applied: Applied<C, R>) => void = () => {},
  ) {}

  /** Index of the last entry applied in this incarnation; 0 before the first. */
  get appliedIndex(): number {
    return this.#appliedIndex;
  }

  apply(entries: readonly Entry<C>[]): void {
    for (const entry of entries) {
      if (entry.index !== this.#appliedIndex + 1) {
        throw new Error(
          `apply: entry ${entry.index} does not follow the last applied entry ${this.#appliedIndex}`,
        );
      }
      this.#appliedIndex = entry.index;
      const result =
        entry.kind === 'command' ? this.machine.apply(entry.command as C, entry.index) : undefined;
      this.onApplied({ entry, result });
    }
  }
}
