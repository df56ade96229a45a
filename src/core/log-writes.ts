/**
 * Every change to a node's log goes through here, so that the configurations in it (§6: in force as soon as
 * they are in the log, reverted when truncated), the leader's progress map, and the `persist` effect all follow.
 */
import type { StateDraft } from './draft.js';
import { RaftLog } from './log.js';
import type { Output } from './output.js';
import { initialProgress } from './progress.js';
import { peersOf, trackerOf } from './replication.js';
import type { Entry, Snapshot } from './types.js';

type S<C> = StateDraft<C>;

export function appendToLog<C>(s: S<C>, entries: readonly Entry<C>[], out: Output<C>): void {
  s.log = s.log.append(entries);
  out.appendedEntries(entries);
  const configs = s.configs.withAppended(entries);
  if (configs !== s.configs) {
    s.configs = configs;
    if (s.role === 'leader') syncProgress(s);
  }
}

/** Deletes every entry at `from` and after (a follower repairing its log; never at or below the commit index). */
export function truncateLog<C>(s: S<C>, from: number, out: Output<C>): void {
  s.log = s.log.truncateFrom(from);
  s.configs = s.configs.withTruncated(from);
  out.truncated(from);
}

/**
 * §7 (contract 10): the service captured its state through `index`; it becomes the latest snapshot, and the log
 * is compacted through it. An index at or below the latest snapshot's, or past what was handed out, changes
 * nothing. Nor does one whose configuration this node cannot vouch for (`Configs.knownAt`: a node that joined
 * a running cluster, at an index before the first configuration entry it holds), since the snapshot's meta
 * must carry the configuration in force at its index; the next snapshot, past that entry, is taken.
 */
export function takeSnapshot<C>(s: S<C>, index: number, data: unknown, out: Output<C>): void {
  if (!Number.isSafeInteger(index) || index <= s.log.base.index || index > s.appliedIndex) return;
  if (!s.configs.knownAt(index, s.settings.id)) return;
  const snapshot: Snapshot = {
    meta: { index, term: s.log.term(index)!, membership: s.configs.membershipAt(index) },
    data,
  };
  s.log = s.log.compactTo(snapshot);
  s.configs = s.configs.withBase(index, snapshot.meta.membership, true);
  out.snapshot = snapshot;
}

/**
 * §7 (contract 12): install the leader's snapshot, newer than the commit index. If the log holds the snapshot's
 * last entry with the same term, the entries after it are kept (they may be the leader's too); otherwise the
 * whole log is discarded. The snapshot is persisted, then restored, in this transition.
 */
export function installSnapshot<C>(s: S<C>, snapshot: Snapshot, out: Output<C>): void {
  const { index, term, membership } = snapshot.meta;
  const keep = s.log.term(index) === term;
  s.log = keep ? s.log.compactTo(snapshot) : RaftLog.empty<C>(snapshot);
  s.configs = s.configs.withBase(index, membership, keep);
  if (!keep) out.truncated(index + 1);
  s.commitIndex = index;
  s.appliedIndex = index;
  out.snapshot = snapshot;
  out.restore = snapshot;
}

/** Adds progress for new members (probing from the leader's end, §5.3) and drops it for members gone. */
export function syncProgress<C>(s: S<C>): void {
  const peers = peersOf(s);
  const tracker = trackerOf(s);
  for (const peer of peers)
    if (tracker.get(peer) === undefined) tracker.add(peer, initialProgress(s.log.lastIndex));
  for (const peer of [...tracker.ids()]) if (!peers.includes(peer)) tracker.delete(peer);
}
