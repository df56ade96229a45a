/**
 * The follower's side of replication: AppendEntries (§5.3, Figure 2's receiver rules) and InstallSnapshot (§7).
 * The caller has settled the term and made this node a follower of the sender.
 */
import type { StateDraft } from './draft.js';
import { invariant } from './invariant.js';
import { appendToLog, installSnapshot, truncateLog } from './log-writes.js';
import type { Output } from './output.js';
import type { AppendEntries, Entry, InstallSnapshot } from './types.js';

type S<C> = StateDraft<C>;

/**
 * §5.3 (Figure 2, AppendEntries receiver): check that the log matches at prevLogIndex, delete a conflicting
 * suffix, append what is new, and learn the commit index. Entries that already match are never truncated,
 * so a stale or duplicated AppendEntries cannot undo newer ones.
 */
export function onAppendEntries<C>(s: S<C>, m: AppendEntries<C>, out: Output<C>): void {
  let prevLogIndex = m.prevLogIndex;
  let entries: readonly Entry<C>[] = m.entries;
  if (prevLogIndex < s.commitIndex) {
    // Entries through the commit index are committed, so they are in this leader's log too (Leader
    // Completeness): skip them. They may lie below the log's base, compacted into a snapshot (etcd answers the
    // same way: with its commit index).
    const skip = Math.min(entries.length, s.commitIndex - prevLogIndex);
    prevLogIndex += skip;
    entries = skip === 0 ? entries : entries.slice(skip);
    if (prevLogIndex < s.commitIndex) return replyAppend(s, m, true, s.commitIndex, 0, 0, out);
  }
  if (prevLogIndex > s.log.lastIndex) {
    return replyAppend(s, m, false, prevLogIndex, 0, s.log.lastIndex + 1, out);
  }
  const localTerm = s.log.term(prevLogIndex);
  invariant(localTerm !== undefined, 'every index from the commit index to the last one has a term');
  const prevLogTerm =
    prevLogIndex === m.prevLogIndex ? m.prevLogTerm : m.entries[prevLogIndex - m.prevLogIndex - 1]!.term;
  if (localTerm !== prevLogTerm) {
    // Fast backup: name the conflicting term and where it starts, so the leader can skip all of it.
    const conflictIndex = Math.max(s.log.firstIndexOfTerm(localTerm) ?? s.log.firstIndex, s.commitIndex + 1);
    return replyAppend(s, m, false, prevLogIndex, localTerm, conflictIndex, out);
  }

  const firstNew = entries.findIndex((entry) => s.log.term(entry.index) !== entry.term);
  if (firstNew !== -1) {
    const from = entries[firstNew]!.index;
    if (from <= s.log.lastIndex) {
      // A correct leader never contradicts a committed entry (Leader Completeness): refuse to destroy one.
      if (from <= s.commitIndex) return;
      truncateLog(s, from, out);
    }
    appendToLog(s, firstNew === 0 ? entries : entries.slice(firstNew), out);
  }

  const lastNew = prevLogIndex + entries.length;
  // Figure 2: commitIndex = min(leaderCommit, index of last new entry); it never moves back.
  const commit = Math.min(m.leaderCommit, lastNew);
  if (commit > s.commitIndex) s.commitIndex = commit;
  replyAppend(s, m, true, lastNew, 0, 0, out);
}

export function replyAppend<C>(
  s: S<C>,
  m: AppendEntries<C>,
  success: boolean,
  index: number,
  conflictTerm: number,
  conflictIndex: number,
  out: Output<C>,
): void {
  out.send({
    type: 'AppendEntriesResponse',
    term: s.term,
    from: s.settings.id,
    to: m.from,
    success,
    index,
    conflictTerm,
    conflictIndex,
    round: echoedRound(s, m),
  });
}

/**
 * The leader's confirmation round an answer echoes (ReadIndex and lease reads, thesis §6.4): the request's, if
 * the request is of this node's term; else 0, which confirms nothing. A request of an earlier term is answered
 * with this node's term (§5.1), and its sender may have been elected again in exactly that term since, with its
 * rounds counted afresh: echoing the old round would confirm a round of the new leadership that began after
 * this answer was sent (a read answered on an acknowledgement older than the read). etcd's answer to a stale
 * append carries no read context either.
 */
function echoedRound<C>(s: S<C>, m: AppendEntries<C> | InstallSnapshot): number {
  return m.term === s.term ? m.round : 0;
}

/**
 * §7 (contract 12): install a snapshot past the commit index; an older one changes nothing. Either way the
 * answer is the commit index, through which this log now matches the leader's.
 */
export function onInstallSnapshot<C>(s: S<C>, m: InstallSnapshot, out: Output<C>): void {
  if (m.snapshot.meta.index > s.commitIndex) installSnapshot(s, m.snapshot, out);
  replySnapshot(s, m, out);
}

export function replySnapshot<C>(s: S<C>, m: InstallSnapshot, out: Output<C>): void {
  out.send({
    type: 'InstallSnapshotResponse',
    term: s.term,
    from: s.settings.id,
    to: m.from,
    index: s.commitIndex,
    round: echoedRound(s, m),
  });
}
