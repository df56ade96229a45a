/**
 * The leader's side of log replication (§5.3, §5.4.2): what to send each follower, what its answers mean,
 * and when an entry is committed. Runs inside `step`, on the state as draft.ts describes it.
 */
import type { StateDraft } from './draft.js';
import { invariant } from './invariant.js';
import { current, jointCommitted, membershipSize, replicationTargets } from './membership.js';
import type { Output } from './output.js';
import {
  becomeProbe,
  becomeReplicate,
  becomeSnapshot,
  checkStalled,
  forgetMatch,
  isPaused,
  recordMatch,
  recordSent,
  type Tracker,
} from './progress.js';
import { defaultCommandSize } from './settings.js';
import type { AppendEntriesResponse, Entry, InstallSnapshotResponse, NodeId } from './types.js';

type S<C> = StateDraft<C>;

export const HEARTBEAT_TIMER = 'heartbeat';

/** The leader's progress tracker, as a copy this transition may change (see progress.ts). */
export function trackerOf<C>(s: S<C>): Tracker {
  if (!s.progress.editable) s.progress = s.progress.edited();
  return s.progress;
}

/** Everyone the leader replicates to under the configuration in force: its progress map's keys. */
export function peersOf<C>(s: S<C>): NodeId[] {
  return replicationTargets(current(s.configs).membership, s.settings.id);
}

/** Entries from `from` on, capped by count and bytes (a configuration's too); one entry always fits, so that progress is made. */
function entriesToSend<C>(s: S<C>, from: number): Entry<C>[] {
  const { maxEntriesPerAppend, maxBytesPerAppend } = s.settings;
  const commandSize = s.settings.commandSize ?? defaultCommandSize;
  const last = Math.min(s.log.lastIndex, from + maxEntriesPerAppend - 1);
  const entries: Entry<C>[] = [];
  let bytes = 0;
  for (let index = from; index <= last; index++) {
    const entry = s.log.entry(index)!;
    if (entry.kind === 'command') bytes += commandSize(entry.command);
    else if (entry.membership !== undefined) bytes += membershipSize(entry.membership);
    if (entries.length > 0 && bytes > maxBytesPerAppend) break;
    entries.push(entry);
  }
  return entries;
}

function sendAppendFrom<C>(
  s: S<C>,
  to: NodeId,
  prevLogIndex: number,
  entries: readonly Entry<C>[],
  out: Output<C>,
): void {
  const prevLogTerm = s.log.term(prevLogIndex);
  invariant(prevLogTerm !== undefined, () => `leader lacks its own entry ${prevLogIndex}`);
  out.send({
    type: 'AppendEntries',
    term: s.term,
    from: s.settings.id,
    to,
    prevLogIndex,
    prevLogTerm,
    entries,
    leaderCommit: s.commitIndex,
    round: s.round,
  });
}

/** §7: the follower needs entries the leader compacted away: send the latest snapshot, and wait for it. */
function sendSnapshot<C>(s: S<C>, to: NodeId, out: Output<C>): void {
  const snapshot = s.log.snapshot;
  invariant(snapshot !== null, 'a log with a compacted prefix has a snapshot');
  out.send({ type: 'InstallSnapshot', term: s.term, from: s.settings.id, to, snapshot, round: s.round });
  becomeSnapshot(trackerOf(s).edit(to)!, snapshot.meta.index);
}

/**
 * Sends what `to` needs next, if flow control allows: a probe (possibly empty) in probe state, new entries
 * in replicate state. Entries already in flight to a follower that keeps up are never sent twice.
 * Returns whether anything was sent.
 */
export function sendAppend<C>(s: S<C>, to: NodeId, out: Output<C>): boolean {
  const pr = trackerOf(s).edit(to);
  if (pr === undefined || isPaused(pr, s.settings.maxInflightAppends)) return false;
  if (pr.state === 'replicate' && pr.next > s.log.lastIndex) return false;
  if (pr.next <= s.log.base.index) {
    sendSnapshot(s, to, out);
    return true;
  }
  const entries = entriesToSend(s, pr.next);
  sendAppendFrom(s, to, pr.next - 1, entries, out);
  recordSent(pr, pr.next - 1 + entries.length);
  return true;
}

export function broadcastAppend<C>(s: S<C>, out: Output<C>): void {
  for (const peer of trackerOf(s).ids()) sendAppend(s, peer, out);
}

/**
 * The heartbeat timer (§5.2: leaders send periodic heartbeats to keep their authority). Each heartbeat starts
 * a new confirmation round (for reads and check-quorum).
 */
export function heartbeat<C>(s: S<C>, out: Output<C>): void {
  const { heartbeatInterval, electionTimeout } = s.settings;
  out.setTimer(HEARTBEAT_TIMER, heartbeatInterval);
  const stallHeartbeats = Math.max(2, Math.ceil(electionTimeout[0] / heartbeatInterval));
  const tracker = trackerOf(s);
  for (const peer of tracker.ids()) {
    const pr = tracker.edit(peer)!;
    checkStalled(pr, stallHeartbeats);
    if (pr.state === 'probe') pr.probeSent = false;
  }
  startRound(s, out);
}

/**
 * A new confirmation round: every follower gets a message carrying it at once. Probes are retried; a follower in
 * replicate state gets new entries if there are any, else an empty append, which carries the commit index.
 * The empty append is anchored at the last entry sent to the follower, not at its known match: a follower that
 * lacks it (an append lost on the way) rejects it, and the leader falls back to probing and sends the lost
 * entries again within this round trip, instead of waiting out a stall of an election timeout (checkStalled).
 * On a FIFO link (TCP) the append precedes the heartbeat, so one merely slow is never mistaken for lost; where
 * messages can be reordered, an overtaking heartbeat costs a probe and entries sent twice, nothing worse.
 * A follower waiting for a snapshot gets an empty append anchored at its match (or the log's base, when the
 * match was compacted away), so that it keeps hearing from its leader.
 */
export function startRound<C>(s: S<C>, out: Output<C>): void {
  s.round += 1;
  const tracker = trackerOf(s);
  for (const peer of tracker.ids()) {
    const pr = tracker.edit(peer)!;
    if (sendAppend(s, peer, out)) continue;
    const lastSent = pr.state === 'replicate' ? pr.next - 1 : pr.match;
    sendAppendFrom(s, peer, Math.max(lastSent, s.log.base.index), [], out);
  }
}

/** §5.3, §5.4.2: the leader learns how far a follower's log matches its own. */
export function onAppendResponse<C>(s: S<C>, m: AppendEntriesResponse, out: Output<C>): void {
  const pr = s.progress.get(m.from);
  if (pr === undefined) return;
  if (m.success) return onMatch(s, m.from, m.index, out);
  // A rejection answers one particular probe or append; older ones are stale and say nothing new, and a follower
  // waiting for a snapshot rejects the heartbeats anchored where its log does not reach yet. One of an index this
  // leader never sent (0, or past its log) is bad input, dropped.
  if (pr.state === 'snapshot') return;
  if (m.index === 0 || m.index > s.log.lastIndex) return;
  // An append sent after this leader learned the match (a later round), refused at or below it: the follower
  // lost what it acknowledged (a wiped or damaged data directory). No reordering explains it: the follower held
  // those entries before the append left, and nothing but a later leader's entries could replace them.
  if (m.index <= pr.match && m.round > pr.matchRound) {
    forgetMatch(trackerOf(s).edit(m.from)!, nextAfterRejection(s, m, 0));
    sendAppend(s, m.from, out);
    return;
  }
  const stale = pr.state === 'probe' ? m.index !== pr.next - 1 : m.index <= pr.match;
  if (stale) return;
  const next = nextAfterRejection(s, m, pr.match);
  // A probe refused at the known match, by an answer from the round the match was learned in: stale, or the
  // follower lost its data (then the next round's probe finds out). Sending the same probe again at once would
  // only be refused again, round after round of messages until the next heartbeat: wait for it.
  if (pr.state === 'probe' && next === pr.next) return;
  becomeProbe(trackerOf(s).edit(m.from)!, next);
  sendAppend(s, m.from, out);
}

/** §7: the follower installed the snapshot, or already held what it covers: its log matches through `index`. */
export function onSnapshotResponse<C>(s: S<C>, m: InstallSnapshotResponse, out: Output<C>): void {
  if (s.progress.get(m.from) !== undefined) onMatch(s, m.from, m.index, out);
}

/** The follower's log matches the leader's through `index`: count it, and stream from there. */
function onMatch<C>(s: S<C>, from: NodeId, index: number, out: Output<C>): void {
  // A follower cannot match entries this leader does not have: such an answer is bad input, dropped.
  if (index > s.log.lastIndex) return;
  const pr = trackerOf(s).edit(from)!;
  recordMatch(pr, index, s.round);
  if (pr.state !== 'replicate') {
    // From probe, or from snapshot once the follower holds what the snapshot covers: the leader can send the
    // entries after the match again (if the match is still below the log's base, the next send is a snapshot).
    if (pr.state === 'probe' || pr.match >= s.log.base.index) becomeReplicate(pr);
  }
  maybeCommit(s);
  sendAppend(s, from, out);
}

/**
 * Fast backup over a mismatched log: skip a whole conflicting term per round trip instead of one entry.
 * If the leader has entries of the follower's conflicting term, the logs may agree up to the leader's last
 * entry of that term; otherwise the follower's whole term is wrong and the retry starts at its first index.
 * The result is clamped so that it always moves back past the rejected index and never below match + 1.
 */
function nextAfterRejection<C>(s: S<C>, m: AppendEntriesResponse, match: number): number {
  let next = m.conflictIndex;
  if (m.conflictTerm > 0) {
    const lastOfTerm = s.log.lastIndexOfTerm(m.conflictTerm);
    if (lastOfTerm !== undefined) next = lastOfTerm + 1;
  }
  return Math.max(match + 1, Math.min(next, m.index));
}

/**
 * §5.3, §5.4.2: an entry is committed once a majority holds it, and a leader counts replicas only for
 * entries of its own term (Figure 8: an old-term entry on a majority can still be overwritten). Earlier
 * entries are committed with it, by the Log Matching Property.
 */
export function maybeCommit<C>(s: S<C>): void {
  const { id } = s.settings;
  const index = jointCommitted(current(s.configs).membership, (voter) =>
    voter === id ? s.log.lastIndex : (s.progress.get(voter)?.match ?? 0),
  );
  if (index > s.commitIndex && s.log.term(index) === s.term) s.commitIndex = index;
}
