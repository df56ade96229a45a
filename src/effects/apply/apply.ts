/**
 * The apply and restore effect interpreter (CONTRACT.md, Semantics 4, and Widening 1, rule 12): committed
 * entries go to the service's state machine in strictly increasing index order with no gaps, each exactly once
 * per incarnation; a restore replaces the whole state with a snapshot's, and applies go on right after it. A
 * gap, a repeat or a restore that goes back is a bug in whoever produced the effect, so it throws rather than
 * corrupt the service's state.
 */
import type { Entry } from '../../core/index.js';

/** A deterministic service replicated by the log: the same commands in the same order give the same results. */
export interface StateMachine<C, R> {
  /** Applies one committed command. It must not throw: a throw would stop every replica at the same entry. */
  apply(command: C, index: number): R;
  /**
   * Log compaction (§7): captures the whole state as it is now, everything applied so far, and yields it as
   * bytes. The capture happens in this call; the chunks may be produced later (in slices, so that a large
   * state does not stall the node), and applies made meanwhile must not change them. Without it, the node
   * never takes snapshots (and its log grows without bound).
   */
  snapshot?(): AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  /** Replaces the whole state with one `snapshot` produced (on any replica). Required to take snapshots. */
  restore?(chunks: AsyncIterable<Uint8Array>): Promise<void>;
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

  /** The service's state is now the snapshot's, through `index`: applies continue right after it. */
  async restore(index: number, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    if (index < this.#appliedIndex) {
      throw new Error(`restore: snapshot at ${index} would take the service back from ${this.#appliedIndex}`);
    }
    if (this.machine.restore === undefined) {
      throw new Error('restore: the state machine cannot restore snapshots (it has no restore method)');
    }
    await this.machine.restore(chunks);
    this.#appliedIndex = index;
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
