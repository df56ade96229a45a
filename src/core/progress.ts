/**
 * Per-follower flow control on the leader (etcd's tracker.Progress, simplified), and the tracker that holds
 * one record per follower.
 *
 * The records change on almost every message a leader handles, so they live outside immer's drafts: a
 * `Tracker` is an immutable value to every state that holds it, and a transition that changes it works on a
 * copy made once (`edited`), whose records it then updates in place with the functions below. Copying a few
 * small records once per transition costs far less than drafting them on every read.
 */
import { invariant } from './invariant.js';
import type { NodeId, Progress } from './types.js';

/** A record this transition may change; its in-flight window is replaced, never changed in place. */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type P = Mutable<Progress>;

export class Tracker {
  /**
   * The followers and their records, at the same positions. Arrays rather than a map: a cluster has a few
   * members, and finding one among them by identity costs less than hashing its id, on every message. The ids
   * change only when membership does, and then they are replaced (a copy shares them with its original).
   */
  #ids: readonly NodeId[];
  #records: P[];
  /** Only a copy made in the current transition may change; `seal` ends that. */
  #editable: boolean;
  /**
   * The records of the tracker this copy was made from, at the same positions (never changed again): a record
   * is this copy's own, free to change in place, once it differs from the original's.
   */
  #original: readonly P[];

  private constructor(ids: readonly NodeId[], records: P[], editable: boolean, original: readonly P[]) {
    this.#ids = ids;
    this.#records = records;
    this.#editable = editable;
    this.#original = original;
  }

  static readonly EMPTY = new Tracker([], [], false, []);

  get size(): number {
    return this.#ids.length;
  }

  get(id: NodeId): P | undefined {
    const position = this.#ids.indexOf(id);
    return position === -1 ? undefined : this.#records[position];
  }

  ids(): readonly NodeId[] {
    return this.#ids;
  }

  values(): readonly Progress[] {
    return this.#records;
  }

  get editable(): boolean {
    return this.#editable;
  }

  /** A copy that this transition may change (itself, when it is such a copy already). */
  edited(): Tracker {
    return this.#editable ? this : new Tracker(this.#ids, [...this.#records], true, this.#records);
  }

  /** Record of `id` to change in place (copied on its first edit); the tracker must be an `edited` copy. */
  edit(id: NodeId): P | undefined {
    invariant(this.#editable, 'progress changes only on a copy made in this transition');
    const position = this.#ids.indexOf(id);
    if (position === -1) return undefined;
    const shared = this.#records[position]!;
    if (shared !== this.#original[position]) return shared;
    const own = copyOf(shared);
    this.#records[position] = own;
    return own;
  }

  /** Adds a follower (membership changed, or a new leader); its record is new, so this copy's own. */
  add(id: NodeId, pr: P): void {
    invariant(this.#editable, 'progress changes only on a copy made in this transition');
    invariant(!this.#ids.includes(id), () => `${id} is tracked already`);
    this.#ids = [...this.#ids, id];
    this.#records.push(pr);
  }

  delete(id: NodeId): void {
    invariant(this.#editable, 'progress changes only on a copy made in this transition');
    const position = this.#ids.indexOf(id);
    if (position === -1) return;
    const without = <T>(items: readonly T[]): T[] => items.filter((_, at) => at !== position);
    this.#ids = without(this.#ids);
    this.#records = without(this.#records);
    // The positions after it moved: the original's must move with them, or a shared record would look owned.
    this.#original = without(this.#original);
  }

  /** The transition is over: from now on this value never changes. */
  seal(): void {
    this.#editable = false;
    // The records this transition made its own are frozen with it, as immer freezes a state: a handler that
    // changed a shared record in place would throw rather than change an earlier state.
    for (let position = 0; position < this.#records.length; position++) {
      const record = this.#records[position]!;
      if (record !== this.#original[position]) Object.freeze(record);
    }
    this.#original = Tracker.EMPTY.#records;
  }

  toJSON(): Record<NodeId, Progress> {
    return Object.fromEntries(this.#ids.map((id, position) => [id, this.#records[position]!]));
  }
}

/** Field by field rather than a spread: one shape, built in place (measured; a field left out fails to compile). */
function copyOf(pr: Progress): P {
  return {
    state: pr.state,
    match: pr.match,
    next: pr.next,
    probeSent: pr.probeSent,
    inflight: pr.inflight,
    matchAtLastHeartbeat: pr.matchAtLastHeartbeat,
    heartbeatsWithoutProgress: pr.heartbeatsWithoutProgress,
    recentActive: pr.recentActive,
    ackedRound: pr.ackedRound,
    matchRound: pr.matchRound,
  };
}

/** A new leader knows nothing of a follower's log: probe from just past its own last entry (§5.3). */
export function initialProgress(lastIndex: number): P {
  return {
    state: 'probe',
    match: 0,
    next: lastIndex + 1,
    probeSent: false,
    inflight: [],
    matchAtLastHeartbeat: 0,
    heartbeatsWithoutProgress: 0,
    // A new leader was just elected by a majority that heard from it; counting every follower active until the
    // first check spares a fresh leader from stepping down before its first round trip.
    recentActive: true,
    ackedRound: 0,
    matchRound: 0,
  };
}

export function becomeProbe(pr: P, next: number): void {
  invariant(next > pr.match, () => `probe next ${next} must pass match ${pr.match}`);
  pr.state = 'probe';
  pr.next = next;
  pr.probeSent = false;
  pr.inflight = [];
}

/** The follower's log is known to match up to `match`: stream from there. */
export function becomeReplicate(pr: P): void {
  pr.state = 'replicate';
  pr.next = pr.match + 1;
  pr.probeSent = false;
  pr.inflight = [];
}

/** §7: a snapshot through `index` is on its way; wait for an answer (or a timeout) before sending anything. */
export function becomeSnapshot(pr: P, index: number): void {
  pr.state = 'snapshot';
  pr.next = Math.max(pr.next, index + 1);
  pr.probeSent = false;
  pr.inflight = [];
  pr.heartbeatsWithoutProgress = 0;
}

/** Whether the leader must hold back new appends to this follower. */
export function isPaused(pr: Progress, maxInflight: number): boolean {
  if (pr.state === 'snapshot') return true;
  return pr.state === 'probe' ? pr.probeSent : pr.inflight.length >= maxInflight;
}

/** Records an append sent from `pr.next` whose last entry is `lastSent` (pr.next - 1 when empty). */
export function recordSent(pr: P, lastSent: number): void {
  if (pr.state === 'probe') {
    pr.probeSent = true;
    return;
  }
  invariant(lastSent >= pr.next, 'replicate sends carry entries');
  pr.inflight = [...pr.inflight, lastSent];
  pr.next = lastSent + 1;
}

/** A success at `index`: the follower's log matches the leader's up to there. */
export function recordMatch(pr: P, index: number, round: number): void {
  pr.inflight = pr.inflight.filter((last) => last > index);
  if (index <= pr.match) return;
  pr.match = index;
  pr.matchRound = round;
  if (pr.next <= index) pr.next = index + 1;
}

/**
 * The follower no longer holds entries it acknowledged: its data was lost or wiped (outside Raft's fault model,
 * but a node must not stay behind for as long as this leader lasts). Nothing it matched can be counted on any
 * more; probe from where its log now ends (`next`), which may be below the log's base: then it gets the snapshot.
 */
export function forgetMatch(pr: P, next: number): void {
  pr.match = 0;
  pr.matchAtLastHeartbeat = 0;
  pr.heartbeatsWithoutProgress = 0;
  becomeProbe(pr, next);
}

/**
 * Called on every heartbeat. Appends (or a snapshot) in flight with no progress at all for `stallHeartbeats`
 * heartbeats in a row are presumed lost (Raft tolerates loss): fall back to probing from `match`, so a follower
 * that missed a message is repaired even when the leader has nothing new to send (a probe below the log's
 * base sends the snapshot again). `stallHeartbeats` spans an election
 * timeout, so a round trip longer than the heartbeat interval (a valid, wide-area setup) is not mistaken for
 * loss and does not make the leader send everything again.
 */
export function checkStalled(pr: P, stallHeartbeats: number): void {
  const waiting = pr.state === 'snapshot' || (pr.state === 'replicate' && pr.inflight.length > 0);
  const stuck = waiting && pr.match === pr.matchAtLastHeartbeat;
  pr.heartbeatsWithoutProgress = stuck ? pr.heartbeatsWithoutProgress + 1 : 0;
  pr.matchAtLastHeartbeat = pr.match;
  if (pr.heartbeatsWithoutProgress >= stallHeartbeats) {
    becomeProbe(pr, pr.match + 1);
    pr.heartbeatsWithoutProgress = 0;
  }
}
