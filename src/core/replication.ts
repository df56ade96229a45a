/**
 * The leader's side of log replication (§5.3, §5.4.2): what to send each follower, what its answers mean,
 * and when an entry is committed. Runs on immer drafts inside `step`.
 */
import type { StateDraft } from './draft.js';
import { invariant } from './invariant.js';
import type { Output } from './output.js';
import { becomeProbe, becomeReplicate, checkStalled, isPaused, recordMatch, recordSent } from './progress.js';
import { committedIndex } from './quorum.js';
import type { AppendEntriesResponse, Entry, NodeId, Settings } from './types.js';

type S<C> = StateDraft<C>;

export const HEARTBEAT_TIMER = 'heartbeat';

export function peersOf(settings: Settings): NodeId[] {
  return settings.voters.filter((voter) => voter !== settings.id);
}

/** Entries from `from` on, capped by count and bytes; one entry always fits so that progress is made. */
function entriesToSend<C>(s: S<C>, from: number): Entry<C>[] {
  const { maxEntriesPerAppend, maxBytesPerAppend, commandSize } = s.settings;
  const last = Math.min(s.log.lastIndex, from + maxEntriesPerAppend - 1);
  const entries: Entry<C>[] = [];
  let bytes = 0;
  for (let index = from; index <= last; index++) {
    const entry = s.log.entry(index)!;
    bytes += entry.kind === 'command' ? commandSize(entry.command) : 0;
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
  });
}

/**
 * Sends what `to` needs next, if flow control allows: a probe (possibly empty) in probe state, new entries
 * in replicate state. Entries already in flight to a follower that keeps up are never sent twice.
 * Returns whether anything was sent.
 */
export function sendAppend<C>(s: S<C>, to: NodeId, out: Output<C>): boolean {
  const pr = s.progress[to];
  if (pr === undefined || isPaused(pr, s.settings.maxInflightAppends)) return false;
  if (pr.state === 'replicate' && pr.next > s.log.lastIndex) return false;
  const entries = entriesToSend(s, pr.next);
  sendAppendFrom(s, to, pr.next - 1, entries, out);
  recordSent(pr, pr.next - 1 + entries.length);
  return true;
}

export function broadcastAppend<C>(s: S<C>, out: Output<C>): void {
  for (const peer of peersOf(s.settings)) sendAppend(s, peer, out);
}

/**
 * The heartbeat timer (§5.2: leaders send periodic heartbeats to keep their authority). Probes are retried;
 * a follower in replicate state gets new entries if there are any, else an empty append anchored at its
 * known match, which it always accepts and which carries the commit index.
 */
export function heartbeat<C>(s: S<C>, out: Output<C>): void {
  const { heartbeatInterval, electionTimeout } = s.settings;
  out.setTimer(HEARTBEAT_TIMER, heartbeatInterval);
  const stallHeartbeats = Math.max(2, Math.ceil(electionTimeout[0] / heartbeatInterval));
  for (const peer of peersOf(s.settings)) {
    const pr = s.progress[peer]!;
    checkStalled(pr, stallHeartbeats);
    if (pr.state === 'probe') pr.probeSent = false;
    if (!sendAppend(s, peer, out)) sendAppendFrom(s, peer, pr.match, [], out);
  }
}

/** §5.3, §5.4.2: the leader learns how far a follower's log matches its own. */
export function onAppendResponse<C>(s: S<C>, m: AppendEntriesResponse, out: Output<C>): void {
  const pr = s.progress[m.from];
  if (pr === undefined) return;
  if (m.success) {
    // A follower cannot match entries this leader does not have: such an answer is bad input, dropped.
    if (m.index > s.log.lastIndex) return;
    recordMatch(pr, m.index);
    if (pr.state === 'probe') becomeReplicate(pr);
    maybeCommit(s);
    sendAppend(s, m.from, out);
    return;
  }
  // A rejection answers one particular probe or append; older ones are stale and say nothing new. One of an
  // index this leader never sent (0, or past its log) is bad input, dropped.
  const stale = pr.state === 'probe' ? m.index !== pr.next - 1 : m.index <= pr.match;
  if (stale || m.index === 0 || m.index > s.log.lastIndex) return;
  becomeProbe(pr, nextAfterRejection(s, m, pr.match));
  sendAppend(s, m.from, out);
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
  const index = committedIndex(s.settings.voters, (voter) =>
    voter === s.settings.id ? s.log.lastIndex : (s.progress[voter]?.match ?? 0),
  );
  if (index > s.commitIndex && s.log.term(index) === s.term) s.commitIndex = index;
}
