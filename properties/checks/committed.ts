/**
 * The entries known to be committed: an entry counts as committed as soon as some node's commitIndex covers
 * it, "in" that node's current term (a follower's term is the term of the leader that told it), and stays
 * committed for the rest of the history. No two nodes may commit, or apply, different entries at one index.
 *
 * The committed log is also what snapshots are checked against: the configuration in force at an index, and
 * the state a service reaches by applying the commands through it.
 */
import {
  type Effect,
  type Entry,
  type Membership,
  type NodeId,
  type RaftState,
  status,
} from '../../src/core/index.js';
import type { Command } from '../scenario.js';
import { type Digest, EMPTY_DIGEST, nextDigest } from '../service.js';
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
  /** The state of a service that applied the committed entries through index i, at i (computed on demand). */
  readonly #digests: Digest[] = [EMPTY_DIGEST];

  /** `initial`: the configuration in force before any config entry (the cluster's initial voters). */
  constructor(private readonly initial: Membership) {}

  get lastIndex(): number {
    return this.#entries.length;
  }

  at(index: number): Committed | undefined {
    return this.#entries[index - 1];
  }

  all(): readonly Committed[] {
    return this.#entries;
  }

  /**
   * Records what `state` commits in (from, to]; returns the entries committed for the first time. An index
   * the node has compacted (it installed a snapshot through it) must have been committed already.
   */
  record(state: RaftState<Command>, from: number, to: number): Committed[] {
    const { id, term } = status(state);
    const log = memoryLog(state);
    const fresh: Committed[] = [];
    for (let index = from + 1; index <= to; index++) {
      const entry = log.entry(index);
      const first = this.at(index);
      if (entry === undefined) {
        if (first !== undefined) continue;
        throw new PropertyViolation(
          'state machine safety',
          `${id}'s commit index covers ${index}, compacted into its snapshot, which no node committed`,
        );
      }
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

  /** The state of a service that applied every committed command through `index` (which must be committed). */
  digestAt(index: number): Digest {
    for (let i = this.#digests.length; i <= index; i++) {
      this.#digests.push(nextDigest(this.#digests[i - 1]!, this.at(i)!.entry));
    }
    return this.#digests[index]!;
  }

  /** The configuration in force at `index` (which must be committed): the last config entry through it. */
  membershipAt(index: number): Membership {
    for (let i = index; i >= 1; i--) {
      const { membership } = this.at(i)!.entry;
      if (membership !== undefined) return membership;
    }
    return this.initial;
  }
}
