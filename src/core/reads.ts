/**
 * Linearizable reads without a log entry: ReadIndex (thesis §6.4, contract 16), and optionally lease reads
 * (thesis §6.4.1, `config.leaseReads`).
 *
 * A leader answers a read once (1) it holds a committed entry of its own term, so its commit index is at least
 * that of any earlier leader, and (2) a majority has confirmed, after the read arrived, that it was still the
 * leader. Confirmation comes in rounds: every AppendEntries carries the leader's current round and every answer
 * echoes it, so a follower that answered round r heard from this leader after round r began. Reads are batched:
 * a read that arrives while a round started for earlier reads is in flight waits for the next one, and that one
 * round confirms every read that arrived before it.
 *
 * Lease reads skip (2) while the leader holds a lease. The core has no clock, only timers, so the lease is
 * measured by one: when a round starts, the leader arms the lease timer (`leaseDuration`) and remembers the
 * round. A follower that answered that round (or a later one) heard from this leader no earlier than the round
 * began, and from then on withholds its vote from anyone else (`votesWithheld`, check-quorum's stickiness made
 * to survive term changes and restarts) until its own election timer fires, at least a minimum election
 * timeout later. So once a majority has answered the round, no other leader can be elected before the round's
 * start plus the minimum election timeout, and until the lease timer fires the leader is the only one: it
 * answers reads at once with its commit index. When the lease timer fires, the leader sends a heartbeat (a new
 * round) and measures the next lease from it; until a majority answers that round, reads take a round.
 *
 * The clock assumption, which the runtime must keep: (a) a timer never fires early; (b) timers of different
 * nodes run at rates within LEASE_CLOCK_DRIFT of each other; (c) a timer that is due is stepped before any
 * later event (a read stepped after the lease timer fell due would be answered on an expired lease), to within
 * one heartbeat interval: the lease is shorter than the minimum election timeout by the drift and by one
 * heartbeat interval (settings.ts, `leaseDurationOf`). A process paused longer than that breaks (c): that is
 * the price of lease reads, and why they are off by default.
 *
 * A leadership transfer forfeits the lease for the rest of the term: its candidate's votes bypass stickiness
 * (thesis §3.10), and a TimeoutNow delayed in the network can start that election at any later time.
 */
import type { StateDraft } from './draft.js';
import { current, jointCommitted } from './membership.js';
import type { Output } from './output.js';
import { heartbeat, startRound } from './replication.js';

type S<C> = StateDraft<C>;

export const LEASE_TIMER = 'lease';

export function onRead<C>(s: S<C>, id: string, out: Output<C>): void {
  if (s.role !== 'leader') return out.readFailed(id, s.leaderId);
  if (holdsLease(s)) return out.readReady(id, s.commitIndex);
  const last = s.pendingReads[s.pendingReads.length - 1];
  if (last !== undefined && last.round >= s.round) {
    // A round started for reads is in flight (or the next one is already due): this read rides the next one.
    s.pendingReads.push({ id, round: s.round + 1 });
    return;
  }
  startRound(s, out);
  s.pendingReads.push({ id, round: s.round });
}

/** The latest round a majority has answered (the leader answers its own rounds at once). */
function confirmedRound<C>(s: S<C>): number {
  const { id } = s.settings;
  return jointCommitted(current(s.configs).membership, (voter) =>
    voter === id ? s.round : (s.progress.get(voter)?.ackedRound ?? 0),
  );
}

/** A leader holds a committed entry of its own term: its commit index is at least any earlier leader's. */
function committedInTerm<C>(s: S<C>): boolean {
  return s.log.term(s.commitIndex) === s.term;
}

/** Answers every read whose round a majority confirmed, once the leader has committed an entry of its term. */
export function releaseReads<C>(s: S<C>, out: Output<C>): void {
  if (s.pendingReads.length === 0 || !committedInTerm(s)) return;
  const confirmed = confirmedRound(s);
  let ready = 0;
  while (ready < s.pendingReads.length && s.pendingReads[ready]!.round <= confirmed) {
    out.readReady(s.pendingReads[ready]!.id, s.commitIndex);
    ready++;
  }
  if (ready === 0) return;
  s.pendingReads.splice(0, ready);
  // The reads that waited for the next round: start it now.
  if (s.pendingReads.length > 0 && s.pendingReads[0]!.round > s.round) startRound(s, out);
}

/** Leadership is lost (or never was): every waiting read fails, with the best hint of who leads. */
export function failReads<C>(s: S<C>, out: Output<C>): void {
  for (const read of s.pendingReads) out.readFailed(read.id, s.leaderId);
  s.pendingReads = [];
}

/** Lease reads: the lease timer armed at the start of `leaseRound` is pending, and a majority answered it. */
function holdsLease<C>(s: S<C>): boolean {
  return s.leaseRound > 0 && committedInTerm(s) && confirmedRound(s) >= s.leaseRound;
}

/** Lease reads: a round has just started; measure a lease from it unless one is being measured already. */
export function measureLease<C>(s: S<C>, out: Output<C>): void {
  if (!s.settings.leaseReads || s.leaseRound !== 0 || s.leaseForfeited) return;
  s.leaseRound = s.round;
  out.setTimer(LEASE_TIMER, s.settings.leaseDuration);
}

/** The lease timer fired: the lease measured from `leaseRound` is over. Renew it from a heartbeat sent now. */
export function onLeaseTimeout<C>(s: S<C>, out: Output<C>): void {
  s.leaseRound = 0;
  heartbeat(s, out);
  measureLease(s, out);
}

/** Leadership ends, or a transfer begins (`forfeit`: no lease again in this term). */
export function endLease<C>(s: S<C>, forfeit: boolean, out: Output<C>): void {
  if (s.leaseRound !== 0) out.cancelTimer(LEASE_TIMER);
  s.leaseRound = 0;
  s.leaseForfeited = forfeit;
}
