/** Linearizable reads without a log entry: ReadIndex (thesis §6.4; CONTRACT.md, Widening 1, rule 16). */
import { describe, expect, it } from 'vitest';
import { elect, follower, cluster as paperCluster, run, settle, THESIS } from '../../test/support/core.js';
import type { Cluster } from '../runtime/simulator/index.js';
import type { Effect, Event, Message } from './index.js';
import { status } from './index.js';
import { MAX_READ_ROUNDS_IN_FLIGHT } from './reads.js';

const read = (id: string): Event<string> => ({ type: 'read', id });
const answers = (effects: readonly Effect<string>[] | null) =>
  (effects ?? []).filter((e) => e.type === 'readReady' || e.type === 'readFailed');

/** Reads run with the core's defaults (pre-vote, check-quorum). */
const cluster = (ids?: readonly string[]) => paperCluster(ids, {}, THESIS);

/**
 * `first` times out, then `winner` (whose pre-vote `first` grants, its own timer having fired) is elected and
 * commits `command`: a new leader, behind the back of one that is cut off.
 */
function electAndWrite(made: Cluster<string>, first: string, winner: string, command: string): void {
  made.fire(first, 'election');
  settle(made);
  made.fire(winner, 'election');
  settle(made);
  made.propose(winner, command);
  settle(made);
}

/** Delivers every message in flight, and those they cause, and returns the read answers they produced. */
function deliverAll(made: Cluster<string>): Effect<string>[] {
  const seen: Effect<string>[] = [];
  for (let next = made.nextToArrive(); next !== undefined; next = made.nextToArrive()) {
    made.drop(next);
    seen.push(...answers(made.step(next.message.to, { type: 'receive', message: next.message })));
  }
  return seen;
}

describe('thesis §6.4 ReadIndex', () => {
  it('anywhere but on a leader, a read fails at once with the best leader hint', () => {
    expect(answers(run(follower('a'), read('r'))[1])).toEqual([
      { type: 'readFailed', id: 'r', leaderId: null },
    ]);
    const made = cluster();
    elect(made, 'a');
    expect(answers(made.step('b', read('r')))).toEqual([{ type: 'readFailed', id: 'r', leaderId: 'a' }]);
  });

  it('a new leader answers only after its no-op commits, with the commit index', () => {
    const made = cluster();
    made.fire('a', 'election');
    // The votes arrive; the acknowledgements of the no-op are lost.
    settle(made, (m) => m.type !== 'AppendEntriesResponse');
    expect(status(made.node('a').state!)).toMatchObject({ role: 'leader', commitIndex: 0 });
    // Not answered yet: the leader has no committed entry of its term, so its commit index may be behind.
    expect(answers(made.step('a', read('r')))).toEqual([]);
    // The read's round reaches the followers, whose answers also get the no-op resent; the read is answered
    // with the index of the no-op once it is committed, not with the 0 the leader had when the read came.
    expect(deliverAll(made)).toEqual([{ type: 'readReady', id: 'r', index: 1 }]);
    expect(status(made.node('a').state!).commitIndex).toBe(1);
  });

  it('a read starts a round at once, up to MAX_READ_ROUNDS_IN_FLIGHT; past that, reads share the next round', () => {
    const made = cluster();
    elect(made, 'a');
    const sent = (id: string) => made.step('a', read(id))!.filter((e) => e.type === 'send').length;
    // Each read sends a round of its own (one append per follower) while fewer than the bound are in flight.
    for (let i = 1; i <= MAX_READ_ROUNDS_IN_FLIGHT; i++) expect(sent(`r${i}`)).toBe(2);
    // Past the bound, reads send nothing: they wait for the next round together.
    expect(sent('late1')).toBe(0);
    expect(sent('late2')).toBe(0);
    const answered = deliverAll(made).map((e) => e.type === 'readReady' && e.id);
    expect(answered).toEqual([
      ...Array.from({ length: MAX_READ_ROUNDS_IN_FLIGHT }, (_, i) => `r${i + 1}`),
      'late1',
      'late2',
    ]);
  });

  it('a stale leader never confirms a read: it fails once the leader learns it was deposed', () => {
    const made = cluster();
    elect(made, 'a');
    made.partition([['a'], ['b', 'c']]);
    const asked = made.step('a', read('stale'))!;
    expect(answers(asked)).toEqual([]);
    // b and c elect b in term 2 and commit a write.
    electAndWrite(made, 'c', 'b', 'new');
    made.heal();
    expect(status(made.node('b').state!)).toMatchObject({ role: 'leader', term: 2 });
    made.fire('b', 'heartbeat');
    expect(deliverAll(made)).toEqual([{ type: 'readFailed', id: 'stale', leaderId: 'b' }]);
  });

  it('without check-quorum, a leader cut off fails a read after an election timeout, rather than never answer', () => {
    // Nothing deposes such a leader: its reads waited for ever, and its list of them grew with every read.
    const made = paperCluster(undefined, {}, { preVote: true, checkQuorum: false });
    elect(made, 'a');
    made.partition([['a'], ['b', 'c']]);
    expect(answers(made.step('a', read('r1')))).toEqual([]);
    const { electionTimeout, heartbeatInterval } = made.node('a').state!.settings;
    const heartbeats = Math.ceil(electionTimeout[0] / heartbeatInterval);
    const seen: Effect<string>[] = [];
    for (let beat = 1; beat <= heartbeats + MAX_READ_ROUNDS_IN_FLIGHT; beat++) {
      seen.push(...answers(made.step('a', { type: 'timeout', timer: 'heartbeat' })));
      // A read that comes later waits its own election timeout.
      if (beat === 2) seen.push(...answers(made.step('a', read('r2'))));
      settle(made);
      if (beat < heartbeats) expect(seen, `after ${beat} heartbeats`).toEqual([]);
    }
    expect(seen).toEqual([{ type: 'readFailed', id: 'r1', leaderId: null }]);
    for (let beat = 0; beat < 2; beat++)
      seen.push(...answers(made.step('a', { type: 'timeout', timer: 'heartbeat' })));
    expect(seen).toEqual([
      { type: 'readFailed', id: 'r1', leaderId: null },
      { type: 'readFailed', id: 'r2', leaderId: null },
    ]);
    expect(made.node('a').state!.pendingReads).toEqual([]);
    expect(status(made.node('a').state!).role).toBe('leader');
  });

  it('an answer to an append of an earlier term confirms no round, though its sender leads again in the term it names', () => {
    const made = cluster();
    elect(made, 'a');
    let held: Message<string> | undefined;
    for (let i = 0; i < 5; i++) {
      made.fire('a', 'heartbeat');
      // Round 5's append to b is held up in the network: it arrives two terms later.
      if (i === 4) {
        const late = made.inFlight.find((e) => e.message.to === 'b' && e.message.type === 'AppendEntries')!;
        made.drop(late);
        held = late.message;
      }
      settle(made);
    }
    // Leadership goes to b (term 2) and back to a (term 3), whose rounds count afresh: up to 4.
    made.step('a', { type: 'transferLeadership', to: 'b' });
    settle(made);
    made.step('b', { type: 'transferLeadership', to: 'a' });
    settle(made);
    for (let i = 0; i < 4; i++) {
      made.fire('a', 'heartbeat');
      settle(made);
    }
    expect(status(made.node('a').state!)).toMatchObject({ role: 'leader', term: 3 });
    // The term-1 append reaches b, in term 3 now: b answers with its term, and its answer is held up too.
    made.step('b', { type: 'receive', message: held! });
    const answer = made.inFlight.find((e) => e.message.type === 'AppendEntriesResponse')!;
    made.drop(answer);
    expect(answer.message).toMatchObject({ term: 3, round: 0 });
    // Cut off from a, b and c elect c in term 4, which commits a write and acknowledges it.
    made.partition([['a'], ['b', 'c']]);
    electAndWrite(made, 'b', 'c', 'w');
    expect(status(made.node('c').state!)).toMatchObject({ role: 'leader', term: 4, commitIndex: 5 });
    // A read arrives at a (it knows of no newer term) and starts round 5; b's old answer then arrives. It was
    // sent before the read, and b has moved on since: it must not confirm the read, whose index (3) would miss
    // the acknowledged write.
    expect(answers(made.step('a', read('after-w')))).toEqual([]);
    expect(answers(made.step('a', { type: 'receive', message: answer.message }))).toEqual([]);
  });

  it('a read pending when the leader hands over fails naming the target, whose campaign deposed it (§3.10)', () => {
    const made = cluster();
    elect(made, 'a');
    made.propose('a', 'x');
    settle(made);
    // A read's round is on its way when the transfer starts; only the TimeoutNow and the campaign it starts
    // arrive before the read is confirmed.
    made.step('a', read('r'));
    made.step('a', { type: 'transferLeadership', to: 'c' });
    const deliver = (type: Message<string>['type'], to: string) => {
      const envelope = made.inFlight.find((e) => e.message.type === type && e.message.to === to)!;
      made.drop(envelope);
      return answers(made.step(to, { type: 'receive', message: envelope.message }));
    };
    deliver('TimeoutNow', 'c');
    expect(deliver('RequestVote', 'a')).toEqual([{ type: 'readFailed', id: 'r', leaderId: 'c' }]);
  });

  it('a single-node cluster confirms by itself', () => {
    const made = cluster(['a']);
    made.fire('a', 'election');
    expect(answers(made.step('a', read('r')))).toEqual([{ type: 'readReady', id: 'r', index: 1 }]);
  });
});
