/** Lease reads (thesis §6.4.1; `config.leaseReads`, reads.ts): a leader whose lease holds answers at once. */
import { describe, expect, it } from 'vitest';
import {
  append,
  durable,
  elect,
  follower,
  cluster as paperCluster,
  receive,
  run,
  sendsOf,
  settle,
  THESIS,
  timeout,
  voteRequest,
  voteResponse,
} from '../../test/support/core.js';
import type { Cluster } from '../runtime/simulator/index.js';
import type { Config, Effect, Event } from './index.js';
import { init, LEASE_TIMER, status } from './index.js';

const LEASE: Partial<Config> = { ...THESIS, leaseReads: true };
const read = (id: string): Event<string> => ({ type: 'read', id });
const answers = (effects: readonly Effect<string>[] | null) =>
  (effects ?? []).filter((e) => e.type === 'readReady' || e.type === 'readFailed');
const cluster = (ids?: readonly string[]) => paperCluster(ids, {}, LEASE);

/** `a` leads, and a majority has answered the round its lease is measured from. */
function leaseHolder(): Cluster<string> {
  const made = cluster();
  elect(made, 'a');
  made.fire('a', 'heartbeat');
  settle(made);
  expect(made.node('a').timers.has(LEASE_TIMER)).toBe(true);
  return made;
}

const base = { id: 'a', voters: ['a', 'b', 'c'], electionTimeout: [150, 300] as const, seed: 1 };

describe('thesis §6.4.1 lease reads: configuration', () => {
  it('are off by default, and need check-quorum and room for a lease', () => {
    const [state] = init({ ...base, heartbeatInterval: 50 });
    expect(state.settings.leaseReads).toBe(false);
    expect(() => init({ ...base, heartbeatInterval: 50, leaseReads: true, checkQuorum: false })).toThrow(
      /leaseReads needs config.checkQuorum/,
    );
    expect(() => init({ ...base, heartbeatInterval: 149, leaseReads: true })).toThrow(/needs a lease/);
    // 150 × 0.99 − 50: the minimum election timeout less the drift and one heartbeat interval.
    expect(init({ ...base, heartbeatInterval: 50, leaseReads: true })[0].settings.leaseDuration).toBeCloseTo(
      98.5,
    );
  });
});

describe('thesis §6.4.1 lease reads: the leader', () => {
  it("arms the lease timer before the round's messages, so a lease starts before any follower hears the round", () => {
    const made = cluster();
    elect(made, 'a');
    for (const timer of ['heartbeat', LEASE_TIMER]) {
      const effects = made.step('a', timeout(timer))!;
      const armed = effects.findIndex((e) => e.type === 'setTimer' && e.timer === LEASE_TIMER);
      const firstSend = effects.findIndex((e) => e.type === 'send');
      expect(armed, `on a ${timer} timeout`).toBeGreaterThanOrEqual(0);
      expect(armed, `on a ${timer} timeout`).toBeLessThan(firstSend);
      settle(made);
    }
  });

  it('with a valid lease answers at once, with its commit index and no message', () => {
    const made = leaseHolder();
    const effects = made.step('a', read('r'))!;
    expect(effects).toEqual([{ type: 'readReady', id: 'r', index: 1 }]);
  });

  it('measures no lease until a heartbeat starts a round, and none without leaseReads', () => {
    const made = cluster();
    elect(made, 'a');
    expect(made.node('a').timers.has(LEASE_TIMER)).toBe(false);
    expect(answers(made.step('a', read('r')))).toEqual([]);
    const plain = paperCluster(undefined, {}, THESIS);
    elect(plain, 'a');
    plain.fire('a', 'heartbeat');
    settle(plain);
    expect(plain.node('a').timers.has(LEASE_TIMER)).toBe(false);
    expect(answers(plain.step('a', read('r')))).toEqual([]);
  });

  it('once the lease expired takes a round, and holds a new lease once a majority answers the renewal', () => {
    const made = leaseHolder();
    // The lease timer fires: a heartbeat goes out at once, and the next lease is measured from it.
    made.fire('a', LEASE_TIMER);
    expect(made.node('a').timers.has(LEASE_TIMER)).toBe(true);
    const asked = made.step('a', read('r1'))!;
    expect(answers(asked)).toEqual([]);
    expect(sendsOf(asked).map((m) => m.type)).toEqual(['AppendEntries', 'AppendEntries']);
    settle(made);
    expect(made.step('a', read('r2'))).toEqual([{ type: 'readReady', id: 'r2', index: 1 }]);
  });

  it('serves nothing by lease before it has committed an entry of its term', () => {
    const made = cluster();
    made.fire('a', 'election');
    // The votes arrive; the no-op does not.
    settle(made, (m) => m.type !== 'AppendEntries');
    made.fire('a', 'heartbeat');
    // b answers the lease's round without matching the no-op (its answer says nothing of its log): the round
    // is confirmed by a majority, the no-op is not committed.
    made.step('a', receive({ ...refusal('b', 'a', 1), round: 1 }));
    expect(status(made.node('a').state!).commitIndex).toBe(0);
    expect(answers(made.step('a', read('r')))).toEqual([]);
  });

  it('never serves by lease once a transfer began in its term, even after the transfer gave up', () => {
    const made = leaseHolder();
    made.partition([['a', 'c'], ['b']]);
    made.step('a', { type: 'transferLeadership', to: 'b' });
    expect(made.node('a').timers.has(LEASE_TIMER)).toBe(false);
    expect(answers(made.step('a', read('during')))).toEqual([]);
    settle(made);
    made.fire('a', 'transfer');
    expect(status(made.node('a').state!).transferring).toBeNull();
    made.fire('a', 'heartbeat');
    settle(made);
    // A TimeoutNow delayed in the network may still start b's election, whose votes bypass stickiness.
    expect(made.node('a').timers.has(LEASE_TIMER)).toBe(false);
    expect(answers(made.step('a', read('after')))).toEqual([]);
  });
});

describe('thesis §6.4.1 lease reads: followers keep the lease', () => {
  it('a follower that heard from the leader votes for no one else, even after a higher term names no leader', () => {
    const withLease = heardFromLeaderThenHigherTerm(LEASE);
    expect(status(withLease.state)).toMatchObject({ term: 3, leaderId: null });
    expect(withLease.answers).toEqual([]);
    // Without lease reads, a higher term forgets the leader, and with it the stickiness (etcd does the same).
    expect(heardFromLeaderThenHigherTerm(THESIS).answers).toEqual([true]);
  });

  it('a restarted node withholds its vote until its election timer fires', () => {
    const restarted = follower('b', durable(1), LEASE);
    const asked = receive(voteRequest('c', 'b', 2));
    expect(sendsOf(run(restarted, asked)[1])).toEqual([]);
    const [campaigning] = run(restarted, timeout('election'));
    const granted = sendsOf(run(campaigning, receive(voteRequest('c', 'b', 3)))[1]);
    expect(granted).toMatchObject([{ type: 'RequestVoteResponse', voteGranted: true }]);
    // Without lease reads a restarted node votes at once.
    expect(sendsOf(run(follower('b', durable(1), THESIS), asked)[1])).toMatchObject([{ voteGranted: true }]);
  });
});

describe('thesis §6.4.1 lease reads: a partitioned leader', () => {
  it('stops serving by lease before another leader can be elected', () => {
    const made = cluster();
    const serving: number[] = [];
    let deposedAt: number | undefined;
    let elsewhere: number | undefined;
    let partitionedAt: number | undefined;
    for (let now = 0; now <= 4_000; now += 1) {
      made.runUntil(now);
      if (partitionedAt === undefined && leaseAnswer(made, 'a')) {
        // a leads and serves by lease: cut it off from the others.
        partitionedAt = now;
        made.partition([['a'], ['b', 'c']]);
      }
      if (partitionedAt === undefined) continue;
      if (leaseAnswer(made, 'a')) serving.push(now);
      if (deposedAt === undefined && status(made.node('a').state!).role !== 'leader') deposedAt = now;
      const other = ['b', 'c'].find((id) => status(made.node(id).state!).role === 'leader');
      if (other !== undefined && elsewhere === undefined) elsewhere = now;
    }
    expect(partitionedAt).toBeDefined();
    expect(elsewhere).toBeDefined();
    expect(serving.length).toBeGreaterThan(0);
    // The last lease answer came before the other side could elect anyone: at least a minimum election timeout
    // after a last heard from a, which is no earlier than the partition.
    expect(Math.max(...serving)).toBeLessThan(elsewhere!);
    expect(Math.max(...serving)).toBeLessThan(partitionedAt! + 150);
    expect(deposedAt).toBeDefined();
  });
});

/** Steps a read on `id` if it leads and says whether it was answered at once (by lease). */
function leaseAnswer(made: Cluster<string>, id: string): boolean {
  const state = made.node(id).state;
  if (state === null || status(state).role !== 'leader') return false;
  const effects = made.step(id, read(`${id}-${made.now}`))!;
  return effects.some((e) => e.type === 'readReady') && !effects.some((e) => e.type === 'send');
}

function refusal(from: string, to: string, term: number) {
  return {
    type: 'AppendEntriesResponse' as const,
    term,
    from,
    to,
    success: false,
    index: 0,
    conflictTerm: 0,
    conflictIndex: 1,
    round: 0,
  };
}

/** b hears from leader a in term 1, then a stale answer of term 3 reaches it; then c asks for its vote in 3. */
function heardFromLeaderThenHigherTerm(extra: Partial<Config>) {
  const [heard] = run(follower('b', undefined, extra), receive(append('a', 'b', 1, 0, 0)));
  const [raised] = run(heard, receive(voteResponse('c', 'b', 3, false)));
  const [state, effects] = run(raised, receive(voteRequest('c', 'b', 3)));
  const votes = sendsOf(effects).flatMap((m) => (m.type === 'RequestVoteResponse' ? [m.voteGranted] : []));
  return { state, answers: votes };
}
