/** ClusterAdmin's decisions, on a scripted node: what it refuses, why, and what it asks the node to do. */
import { describe, expect, it } from 'vitest';
import type { Membership, NodeId } from '../core/index.js';
import {
  type MemberProgress,
  type NodeStatus,
  NotLeaderError,
  RequestRefusedError,
} from '../runtime/node/index.js';
import { type AdminNode, ClusterAdmin, PROMOTE_MAX_LAG } from './cluster-admin.js';
import type { KvEntry, KvEntryResult } from './commands.js';
import { HttpError } from './request.js';

class ScriptedNode implements AdminNode {
  readonly proposed: KvEntry[] = [];
  readonly changes: [readonly NodeId[], readonly NodeId[]][] = [];
  progress = new Map<NodeId, MemberProgress>();
  /** Through where the log is committed (and applied); all of it unless a test holds it back. */
  committed: number | undefined;
  role: NodeStatus['role'] = 'leader';
  readonly #waiting: (() => boolean)[] = [];

  constructor(
    public membership: Membership,
    public lastIndex = 500,
  ) {}

  /** Something changed: the waits look again. */
  changed(): void {
    for (const attempt of this.#waiting.splice(0)) if (!attempt()) this.#waiting.push(attempt);
  }

  until<T>(_what: string, _timeoutMs: number, check: (status: NodeStatus) => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const attempt = () => {
        try {
          const value = check(this.status());
          if (value !== undefined) resolve(value);
          return value !== undefined;
        } catch (error) {
          reject(error);
          return true;
        }
      };
      if (!attempt()) this.#waiting.push(attempt);
    });
  }

  status(): NodeStatus {
    return {
      id: 'a',
      role: this.role,
      term: 3,
      votedFor: 'a',
      leaderId: this.role === 'leader' ? 'a' : 'b',
      commitIndex: this.committed ?? this.lastIndex,
      lastIndex: this.lastIndex,
      lastTerm: 3,
      membership: this.membership,
      snapshotIndex: 0,
      transferring: null,
      appliedIndex: this.committed ?? this.lastIndex,
    };
  }

  memberProgress(): ReadonlyMap<NodeId, MemberProgress> {
    return this.progress;
  }

  async changeMembership(voters: readonly NodeId[], learners: readonly NodeId[] = []): Promise<Membership> {
    this.changes.push([voters, learners]);
    this.membership = { voters, learners };
    return this.membership;
  }

  async propose(entry: KvEntry): Promise<KvEntryResult> {
    this.proposed.push(entry);
    return { op: 'member', previous: null };
  }
}

const seeds: Record<NodeId, { raft: { host: string; port: number }; http: { host: string; port: number } }> =
  {
    b: { raft: { host: '127.0.0.1', port: 7002 }, http: { host: '127.0.0.1', port: 8002 } },
  };

function adminOf(node: ScriptedNode, leader = true): ClusterAdmin {
  return new ClusterAdmin(
    node,
    (id) => seeds[id],
    async () => {
      if (!leader) throw new NotLeaderError('b');
    },
  );
}

const three = { voters: ['a', 'b', 'c'], learners: [] };
/** Lets a request run until it waits on the node. */
const waiting = () => new Promise((resolve) => setTimeout(resolve, 0));
const learner = { raft: '127.0.0.1:7004', http: '127.0.0.1:8004' };

describe('ClusterAdmin', () => {
  it('adds a learner: records its addresses first, then changes the configuration', async () => {
    const node = new ScriptedNode(three);
    const answer = await adminOf(node).addLearner({ id: 'd', ...learner });
    expect(node.proposed).toEqual([{ op: 'member', id: 'd', ...learner }]);
    expect(node.changes).toEqual([[['a', 'b', 'c'], ['d']]]);
    expect(answer).toEqual({ id: 'd', membership: { voters: ['a', 'b', 'c'], learners: ['d'] } });
  });

  it('takes a learner asked for again without a second change, and refuses a voter', async () => {
    const node = new ScriptedNode({ voters: ['a', 'b', 'c'], learners: ['d'] });
    await adminOf(node).addLearner({ id: 'd', ...learner });
    expect(node.changes).toEqual([]);
    await expect(adminOf(node).addLearner({ id: 'b', ...learner })).rejects.toThrow(
      new RequestRefusedError('b is already a voter'),
    );
  });

  it('answers a learner asked for again only once the change that lists it is committed', async () => {
    // The first request's change is in the log, not committed (a joiner retried: its first answer was lost).
    const node = new ScriptedNode(
      { voters: ['a', 'b', 'c'], learners: ['d'], outgoing: ['a', 'b', 'c'] },
      501,
    );
    node.committed = 500;
    let answered = false;
    const again = adminOf(node)
      .addLearner({ id: 'd', ...learner })
      .finally(() => {
        answered = true;
      });
    await waiting();
    expect(answered).toBe(false);
    node.committed = 501;
    node.changed();
    expect(await again).toMatchObject({ id: 'd', membership: { learners: ['d'] } });
    expect(node.changes).toEqual([]);

    // A change that a new leader dropped: the learner is gone, or this node no longer leads.
    const lost = new ScriptedNode({ voters: ['a', 'b', 'c'], learners: ['d'] }, 501);
    lost.committed = 500;
    const dropped = adminOf(lost).addLearner({ id: 'd', ...learner });
    await waiting();
    lost.membership = { voters: ['a', 'b', 'c'], learners: [] };
    lost.changed();
    await expect(dropped).rejects.toThrow(/the change that added d as a learner was lost/);
    const deposed = new ScriptedNode({ voters: ['a', 'b', 'c'], learners: ['d'] }, 501);
    deposed.committed = 500;
    const redirected = adminOf(deposed).addLearner({ id: 'd', ...learner });
    await waiting();
    deposed.role = 'follower';
    deposed.changed();
    await expect(redirected).rejects.toBeInstanceOf(NotLeaderError);
  });

  it('refuses every change while one is in progress, before recording anything', async () => {
    const node = new ScriptedNode({ voters: ['a', 'b'], learners: [], outgoing: ['a', 'b', 'c'] });
    const admin = adminOf(node);
    for (const attempt of [admin.addLearner({ id: 'd', ...learner }), admin.remove('b'), admin.remove('c')]) {
      await expect(attempt).rejects.toBeInstanceOf(RequestRefusedError);
      await expect(attempt).rejects.toThrow(/a membership change is already in progress/);
    }
    expect(node.proposed).toEqual([]);
    expect(node.changes).toEqual([]);
  });

  it(`promotes a learner at most ${PROMOTE_MAX_LAG} entries behind, and refuses one further behind or that never answered`, async () => {
    const node = new ScriptedNode({ voters: ['a', 'b', 'c'], learners: ['d'] }, 500);
    const admin = adminOf(node);
    node.progress.set('d', { match: 500 - PROMOTE_MAX_LAG - 1, active: true });
    await expect(admin.promote('d')).rejects.toThrow(
      `cannot promote d: it is ${PROMOTE_MAX_LAG + 1} entries behind the leader (at most ${PROMOTE_MAX_LAG}); wait until it catches up`,
    );
    node.progress.set('d', { match: 0, active: true });
    await expect(admin.promote('d')).rejects.toThrow(
      'cannot promote d: it has not acknowledged any entry yet',
    );
    expect(node.changes).toEqual([]);
    node.progress.set('d', { match: 500 - PROMOTE_MAX_LAG, active: true });
    expect(await admin.promote('d')).toEqual({
      id: 'd',
      membership: { voters: ['a', 'b', 'c', 'd'], learners: [] },
    });
    await expect(admin.promote('d')).rejects.toThrow('d is already a voter');
    const unknown = admin.promote('e');
    await expect(unknown).rejects.toBeInstanceOf(HttpError);
    await expect(unknown).rejects.toMatchObject({ status: 404 });
  });

  it('removes a voter or a learner, the leader itself too, and 404s a stranger', async () => {
    const node = new ScriptedNode({ voters: ['a', 'b', 'c'], learners: ['d'] });
    const admin = adminOf(node);
    await admin.remove('d');
    await admin.remove('a');
    expect(node.changes).toEqual([
      [['a', 'b', 'c'], []],
      [['b', 'c'], []],
    ]);
    await expect(admin.remove('zz')).rejects.toMatchObject({ status: 404 });
  });

  it('shows members with roles, addresses and lag; off the leader, redirects', async () => {
    const node = new ScriptedNode({ voters: ['b', 'c'], learners: ['d'], outgoing: ['a', 'b'] }, 40);
    node.progress.set('b', { match: 40, active: true });
    node.progress.set('d', { match: 30, active: true });
    const view = await adminOf(node).view();
    expect(view).toMatchObject({ leader: 'a', changing: true, lastIndex: 40 });
    expect(view.members.map(({ id, role, lag }) => [id, role, lag])).toEqual([
      ['b', 'voter', 0],
      ['c', 'voter', 40],
      ['a', 'outgoing', 0],
      ['d', 'learner', 10],
    ]);
    expect(view.members[0]).toMatchObject({ raft: '127.0.0.1:7002', http: '127.0.0.1:8002' });
    expect(view.members[1]).toMatchObject({ raft: null, http: null, active: false });
    await expect(adminOf(node, false).view()).rejects.toBeInstanceOf(NotLeaderError);
  });
});
