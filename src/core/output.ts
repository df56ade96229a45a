/**
 * What one transition produces, gathered while a handler runs and put in contract order at the end.
 *
 * Order (CONTRACT.md, "Effects run in order"): a `persist` goes before every `send` that depends on it, so a
 * vote or an acknowledgement never leaves before what it promises is on disk. The one exception is the
 * leader's own new entries: nothing it sends depends on them being on its own disk, so a leader with an
 * unchanged hard state sends first and writes its log in parallel (Raft thesis §10.2.1). The leader counts
 * its own entries toward a commit at once, which is safe because a commit becomes visible only through an
 * apply or a send that carries the commit index, and those must come after the persist: an apply always does,
 * and so do the sends of a transition whose commit index reached an entry it appended (only a leader that is
 * a quorum by itself commits in the same transition, and its learners must not hear of that commit before
 * the entry is on its disk: a crash would lose a committed entry a learner applied). A runtime that keeps the
 * order (a send or apply waits for every persist before it) never shows a commit that rests on entries not
 * yet on the leader's disk.
 * A `restore` (a follower installing its leader's snapshot, contract 12) comes right after the `persist` that
 * stores the snapshot. Applies come after the sends: they may deliver entries that this very transition
 * persisted. Read answers come last: a `readReady` names an index the service must have applied first. Timers
 * come after the sends, but for those armed `first`: a lease must start before the round it is measured from
 * can reach anyone.
 */
import { invariant } from './invariant.js';
import type { Effect, Entry, HardState, Message, NodeId, RaftState, Snapshot } from './types.js';

type TimerEffect = Extract<Effect<unknown>, { type: 'setTimer' | 'cancelTimer' }>;

export class Output<C> {
  readonly sends: Message<C>[] = [];
  /** Timers to arm or cancel, one per name: the last word on a name wins (a transition sets one or two). */
  readonly #timers: TimerEffect[] = [];
  /** Timers armed ahead of every other effect: time measured from before anything leaves (a lease). */
  #timersFirst: TimerEffect[] | undefined;
  truncateFrom: number | undefined;
  appended: Entry<C>[] = [];
  applies: readonly Entry<C>[] = [];
  /** A snapshot to persist: taken by this node, or installed from the leader. */
  snapshot: Snapshot | undefined;
  /** A snapshot the service must restore (installed from the leader, or found by `init`). */
  restore: Snapshot | undefined;
  readonly reads: Effect<C>[] = [];

  send(message: Message<C>): void {
    this.sends.push(message);
  }

  /** `first`: armed ahead of the transition's other effects, its sends included. */
  setTimer(timer: string, delay: number, first = false): void {
    // The list of first timers is made only when needed: an Output is made on every transition.
    if (first) this.#timersFirst ??= [];
    this.#timer({ type: 'setTimer', timer, delay }, first ? this.#timersFirst! : this.#timers);
  }

  cancelTimer(timer: string): void {
    this.#timer({ type: 'cancelTimer', timer }, this.#timers);
  }

  /** Lists rather than maps: cheaper to make for the one or two timers of a transition (measured). */
  #timer(effect: TimerEffect, into: TimerEffect[]): void {
    forget(this.#timers, effect.timer);
    if (this.#timersFirst !== undefined) forget(this.#timersFirst, effect.timer);
    into.push(effect);
  }

  /** Records log writes for the persist effect; a truncation drops whatever this transition appended past it. */
  truncated(index: number): void {
    this.truncateFrom = Math.min(this.truncateFrom ?? index, index);
    this.appended = this.appended.filter((entry) => entry.index < index);
  }

  readReady(id: string, index: number): void {
    this.reads.push({ type: 'readReady', id, index });
  }

  readFailed(id: string, leaderId: NodeId | null): void {
    this.reads.push({ type: 'readFailed', id, leaderId });
  }

  appendedEntries(entries: readonly Entry<C>[]): void {
    // A loop, not push(...entries): a spread of a very large batch overflows the stack.
    for (const entry of entries) this.appended.push(entry);
  }

  /** The effects in contract order, built into one array (this runs once per transition, on every transition). */
  effects(before: RaftState<C>, after: RaftState<C>): Effect<C>[] {
    const hardStateChanged = before.term !== after.term || before.votedFor !== after.votedFor;
    const persist = this.persistEffect(
      hardStateChanged ? { term: after.term, votedFor: after.votedFor } : undefined,
    );
    const leaderWritesInParallel =
      after.role === 'leader' &&
      !hardStateChanged &&
      this.truncateFrom === undefined &&
      this.snapshot === undefined &&
      !(this.appended.length > 0 && after.commitIndex >= this.appended[0]!.index);
    const effects: Effect<C>[] = [];
    if (this.#timersFirst !== undefined) for (const timer of this.#timersFirst) effects.push(timer);
    if (!leaderWritesInParallel) this.pushStorage(effects, persist);
    for (const message of this.sends) effects.push({ type: 'send', message });
    if (leaderWritesInParallel) this.pushStorage(effects, persist);
    for (const timer of this.#timers) effects.push(timer);
    if (this.applies.length > 0) effects.push({ type: 'apply', entries: this.applies });
    for (const read of this.reads) effects.push(read);
    return effects;
  }

  /** The persist, then the restore of the snapshot it stores. */
  private pushStorage(effects: Effect<C>[], persist: Effect<C> | undefined): void {
    if (persist !== undefined) effects.push(persist);
    if (this.restore !== undefined) effects.push({ type: 'restore', snapshot: this.restore });
  }

  private persistEffect(hardState: HardState | undefined): Effect<C> | undefined {
    if (
      hardState === undefined &&
      this.snapshot === undefined &&
      this.truncateFrom === undefined &&
      this.appended.length === 0
    ) {
      return undefined;
    }
    for (let i = 1; i < this.appended.length; i++) {
      invariant(
        this.appended[i]!.index === this.appended[i - 1]!.index + 1,
        'persisted entries are contiguous',
      );
    }
    return {
      type: 'persist',
      ...(hardState !== undefined && { hardState }),
      ...(this.snapshot !== undefined && { snapshot: this.snapshot }),
      ...(this.truncateFrom !== undefined && { truncateFrom: this.truncateFrom }),
      ...(this.appended.length > 0 && { entries: this.appended }),
    };
  }
}

/** Drops the pending effect on `timer`, if any: a later word on a timer replaces an earlier one. */
function forget(timers: TimerEffect[], timer: string): void {
  const earlier = timers.findIndex((pending) => pending.timer === timer);
  if (earlier !== -1) timers.splice(earlier, 1);
}
