/**
 * Linearizable reads without a log entry: ReadIndex (thesis §6.4, contract 16), and optionally lease reads
 * (thesis §6.4.1, `config.leaseReads`).
 *
 * A leader answers a read once (1) it holds a committed entry of its own term, so its commit index is at least
 * that of any earlier leader, and (2) a majority has confirmed, after the read arrived, that it was still the
 * leader. Confirmation comes in rounds: every AppendEntries carries the leader's current round and every answer
 * echoes it, so a follower that answered round r heard from this leader after round r began. A read starts a
 * round of its own at once, so that it waits for one round trip, not for the rest of a round in flight and then
 * another: up to MAX_READ_ROUNDS_IN_FLIGHT rounds started for reads are in flight at once (a service that gathers
 * the reads arriving together into one `read`, as the KV service does, sends few). Past that bound a read waits
 * for the next round, which starts as soon as the oldest confirms and serves every read that waited for it.
 *
 * Lease reads skip (2) while the leader holds a lease. The core has no clock, only timers, so the lease is
 * measured by one: when a round starts, the leader arms the lease timer (`leaseDuration`), ahead of the
 * round's messages, and remembers the round. A follower that answered that round (or a later one) heard from
 * this leader no earlier than the round began, and from then on withholds its vote from anyone else
 * (`votesWithheld`, check-quorum's stickiness made to survive term changes and restarts) until its own election
 * timer fires, at least a minimum election timeout later. So once a majority has answered the round, no other
 * leader can be elected before the round's start plus the minimum election timeout, and until the lease timer
 * fires the leader is the only one: it answers reads at once with its commit index. When the lease timer fires,
 * the leader sends a heartbeat (a new round) and measures the next lease from it; until a majority answers that
 * round, reads take a round.
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
import type { NodeId } from './types.js';

type S<C> = StateDraft<C>;

export const LEASE_TIMER = 'lease';

/** Most confirmation rounds started for reads and not yet confirmed: a bound on the messages reads cost. */
export const MAX_READ_ROUNDS_IN_FLIGHT = 4;

export function onRead<C>(s: S<C>, id: string, out: Output<C>): void {
  if (s.role !== 'leader') return out.readFailed(id, s.leaderId);
  if (holdsLease(s)) return out.readReady(id, s.commitIndex);
  const last = s.pendingReads[s.pendingReads.length - 1];
  if (last !== undefined && (last.round > s.round || readRoundsInFlight(s) >= MAX_READ_ROUNDS_IN_FLIGHT)) {
    // The next round is due already, or as many rounds as allowed are in flight: this read rides the next one.
    s.pendingReads.push({ id, round: s.round + 1 });
    return;
  }
  startRound(s, out);
  s.pendingReads.push({ id, round: s.round });
}

/**
 * The distinct rounds, started already, that waiting reads wait for (reads wait in order of round). A heartbeat
 * may start the round that reads were left to wait for, so this can reach one more than the bound.
 */
function readRoundsInFlight<C>(s: S<C>): number {
  let rounds = 0;
  let previous = 0;
  for (const read of s.pendingReads) {
    if (read.round > s.round) break;
    if (read.round !== previous) rounds++;
    previous = read.round;
  }
  return rounds;
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
  s.pendingReads = s.pendingReads.slice(ready);
  // The reads left to wait for the next round: start it now, if the bound allows.
  const last = s.pendingReads[s.pendingReads.length - 1];
  if (last !== undefined && last.round > s.round && readRoundsInFlight(s) < MAX_READ_ROUNDS_IN_FLIGHT) {
    startRound(s, out);
  }
}

/**
 * Without check-quorum a leader cut off from the others never steps down, and its reads would wait for ever
 * (contract 16: every read gets exactly one answer). So on each heartbeat, a read not answered for a minimum
 * election timeout fails, naming no leader: one no majority confirmed, and also one a majority confirmed that
 * still waits for this leader's first commit (a failure is always allowed; the client asks again). Rounds
 * measure the time: each heartbeat starts one, and while the oldest read waits, reads start at most
 * MAX_READ_ROUNDS_IN_FLIGHT more; so a read that many rounds, and an election timeout's worth of heartbeats,
 * behind the current round has waited at least that long. (With check-quorum, such a leader steps down within an election timeout, failing its reads.)
 */
export function expireReads<C>(s: S<C>, out: Output<C>): void {
  if (s.settings.checkQuorum || s.pendingReads.length === 0) return;
  const { electionTimeout, heartbeatInterval } = s.settings;
  const oldest = s.round - Math.ceil(electionTimeout[0] / heartbeatInterval) - MAX_READ_ROUNDS_IN_FLIGHT;
  let expired = 0;
  while (expired < s.pendingReads.length && s.pendingReads[expired]!.round <= oldest) {
    out.readFailed(s.pendingReads[expired]!.id, null);
    expired++;
  }
  if (expired > 0) s.pendingReads = s.pendingReads.slice(expired);
}

/** Leadership is lost (or never was): every waiting read fails, with the best hint of who leads. */
export function failReads<C>(s: S<C>, out: Output<C>, likelyLeader: NodeId | null = s.leaderId): void {
  for (const read of s.pendingReads) out.readFailed(read.id, likelyLeader);
  s.pendingReads = [];
}

/** Lease reads: the lease timer armed at the start of `leaseRound` is pending, and a majority answered it. */
function holdsLease<C>(s: S<C>): boolean {
  return s.leaseRound > 0 && committedInTerm(s) && confirmedRound(s) >= s.leaseRound;
}

/**
 * Lease reads: a round has just started; measure a lease from it unless one is being measured already. The
 * lease timer is armed ahead of the round's messages (its effect comes first), so that a runtime running the
 * effects in order starts the lease before any follower can hear the round, however long sending takes.
 */
export function measureLease<C>(s: S<C>, out: Output<C>): void {
  if (!s.settings.leaseReads || s.leaseRound !== 0 || s.leaseForfeited) return;
  s.leaseRound = s.round;
  out.setTimer(LEASE_TIMER, s.settings.leaseDuration, true);
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
