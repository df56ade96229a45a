/**
 * Per-follower flow control on the leader (etcd's tracker.Progress, simplified). These functions update a
 * progress record in place: they run on immer drafts inside `step`, never on a state a caller holds.
 */
import type { Draft } from 'immer';
import { invariant } from './invariant.js';
import type { Progress } from './types.js';

type P = Draft<Progress>;

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
  pr.inflight.push(lastSent);
  pr.next = lastSent + 1;
}

/** A success at `index`: the follower's log matches the leader's up to there. */
export function recordMatch(pr: P, index: number): void {
  pr.inflight = pr.inflight.filter((last) => last > index);
  if (index <= pr.match) return;
  pr.match = index;
  if (pr.next <= index) pr.next = index + 1;
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
