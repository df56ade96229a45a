/**
 * The entries known to be committed: an entry counts as committed as soon as some node's commitIndex covers
 * it, "in" that node's current term (a follower's term is the term of the leader that told it), and stays
 * committed for the rest of the history. No two nodes may commit, or apply, different entries at one index.
 */
import { type Effect, type Entry, type NodeId, type RaftState, status } from '../../src/core/index.js';
import type { Command } from '../scenario.js';
import { PropertyViolation } from '../violation.js';
import { memoryLog, sameEntry, show } from './logs.js';

export interface Committed {
  readonly entry: Entry<Command>;
  /** The term of the node that first saw it committed. */
  readonly term: number;
  readonly by: NodeId;
}

export class CommittedLog {
  /** By index, contiguous from 1; the first record of an index is kept and every later one must agree. */
  readonly #entries: Committed[] = [];

  get lastIndex(): number {
    return this.#entries.length;
  }

  at(index: number): Committed | undefined {
    return this.#entries[index - 1];
  }

  all(): readonly Committed[] {
    return this.#entries;
  }

  /** Records what `state` commits in (from, to]; returns the entries committed for the first time. */
  record(state: RaftState<Command>, from: number, to: number): Committed[] {
    const { id, term } = status(state);
    const log = memoryLog(state);
    const fresh: Committed[] = [];
    for (let index = from + 1; index <= to; index++) {
      const entry = log.entry(index)!;
      const first = this.at(index);
      if (first === undefined) {
        const committed = { entry, term, by: id };
        this.#entries[index - 1] = committed;
        fresh.push(committed);
      } else if (!sameEntry(first.entry, entry)) {
        throw new PropertyViolation(
          'state machine safety',
          `${id} committed ${show(entry)} but ${first.by} committed ${show(first.entry)}`,
        );
      }
    }
    return fresh;
  }

  /** Only committed entries are applied, and only the ones committed. */
  checkApplies(id: NodeId, effects: readonly Effect<Command>[]): void {
    for (const effect of effects) {
      if (effect.type !== 'apply') continue;
      for (const entry of effect.entries) {
        const committed = this.at(entry.index);
        if (committed === undefined || !sameEntry(committed.entry, entry)) {
          throw new PropertyViolation(
            'state machine safety',
            `${id} applied ${show(entry)}, but what is committed there is ${show(committed?.entry)}`,
          );
        }
      }
    }
  }
}
