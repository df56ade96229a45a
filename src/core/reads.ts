/**
 * Linearizable reads without a log entry: ReadIndex (thesis §6.4, contract 16).
 *
 * A leader answers a read once (1) it holds a committed entry of its own term, so its commit index is at least
 * that of any earlier leader, and (2) a majority has confirmed, after the read arrived, that it was still the
 * leader. Confirmation comes in rounds: every AppendEntries carries the leader's current round and every answer
 * echoes it, so a follower that answered round r heard from this leader after round r began. Reads are batched:
 * a read that arrives while a round started for earlier reads is in flight waits for the next one, and that one
 * round confirms every read that arrived before it.
 */
import type { StateDraft } from './draft.js';
import { current, jointCommitted } from './membership.js';
import type { Output } from './output.js';
import { startRound } from './replication.js';

type S<C> = StateDraft<C>;

export function onRead<C>(s: S<C>, id: string, out: Output<C>): void {
  if (s.role !== 'leader') return out.readFailed(id, s.leaderId);
  const last = s.pendingReads[s.pendingReads.length - 1];
  if (last !== undefined && last.round >= s.round) {
    // A round started for reads is in flight (or the next one is already due): this read rides the next one.
    s.pendingReads.push({ id, round: s.round + 1 });
    return;
  }
  startRound(s, out);
  s.pendingReads.push({ id, round: s.round });
}

/** Answers every read whose round a majority confirmed, once the leader has committed an entry of its term. */
export function releaseReads<C>(s: S<C>, out: Output<C>): void {
  if (s.pendingReads.length === 0 || s.log.term(s.commitIndex) !== s.term) return;
  const { id } = s.settings;
  const confirmed = jointCommitted(current(s.configs).membership, (voter) =>
    voter === id ? s.round : (s.progress.get(voter)?.ackedRound ?? 0),
  );
  let ready = 0;
  while (ready < s.pendingReads.length && s.pendingReads[ready]!.round <= confirmed) {
    out.readReady(s.pendingReads[ready]!.id, s.commitIndex);
    ready++;
  }
  if (ready === 0) return;
  s.pendingReads = s.pendingReads.slice(ready);
  // The reads that waited for the next round: start it now.
  if (s.pendingReads.length > 0 && s.pendingReads[0]!.round > s.round) startRound(s, out);
}

/** Leadership is lost (or never was): every waiting read fails, with the best hint of who leads. */
export function failReads<C>(s: S<C>, out: Output<C>): void {
  for (const read of s.pendingReads) out.readFailed(read.id, s.leaderId);
  s.pendingReads = [];
}
