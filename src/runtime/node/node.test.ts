import { describe, expect, it } from 'vitest';
import type { Durable, Message } from '../../core/index.js';
import {
  MemoryStorage,
  type PersistEffect,
  type Storage,
  StorageCorruptionError,
} from '../../effects/storage/index.js';
import {
  CommandTooLargeError,
  NodeStoppedError,
  NotLeaderError,
  OverloadedError,
  ProposalLostError,
  ProposalOutcomeUnknownError,
  ProposalTimeoutError,
  RequestTimeoutError,
  StorageUnavailableError,
} from './errors.js';
import { RaftNode } from './node.js';
import {
  CommandLog,
  configFor,
  type NodeExtras,
  settle,
  TestCluster,
  type TestNode,
} from './test-support.js';

const ids = ['a', 'b', 'c'];

describe('RaftNode', () => {
  it('elects a leader, commits proposals and applies them on every node in the same order', async () => {
    const cluster = new TestCluster(ids);
    await cluster.start();
    const leader = await cluster.leader();
    const results = Promise.all(['x', 'y', 'z'].map((command) => leader.node.propose(command)));
    await cluster.run(100);
    const indices = await results;
    expect(indices).toEqual([...indices].sort((p, q) => p - q));
    for (const { machine, node } of cluster.nodes.values()) {
      expect(machine.applied).toEqual(['x', 'y', 'z']);
      expect(node.status().appliedIndex).toBe(indices[2]);
    }
    await cluster.stop();
  });

  it('refuses a proposal on a follower at once, naming the leader', async () => {
    const cluster = new TestCluster(ids);
    await cluster.start();
    const leader = await cluster.leader();
    await cluster.run(100);
    const follower = ids.find((id) => id !== leader.node.id)!;
    const refusal = cluster.node(follower).node.propose('x');
    await expect(refusal).rejects.toBeInstanceOf(NotLeaderError);
    await expect(refusal).rejects.toMatchObject({ leaderId: leader.node.id });
    expect(cluster.node(follower).node.stats.proposals.notLeader).toBe(1);
    await cluster.stop();
  });

  it('refuses at once a command larger than one message can carry, and goes on', async () => {
    // In the log it could never reach a follower: the leader would resend it until it lost its leadership.
    const cluster = new TestCluster(ids, () => ({}), { maxCommandBytes: 8 });
    await cluster.start();
    const leader = await cluster.leader();
    const refusal = leader.node.propose('x'.repeat(9));
    await expect(refusal).rejects.toBeInstanceOf(CommandTooLargeError);
    await expect(refusal).rejects.toMatchObject({ bytes: 9, limit: 8 });
    const accepted = leader.node.propose('x'.repeat(8));
    await cluster.run(100);
    await expect(accepted).resolves.toBeGreaterThan(0);
    for (const { machine } of cluster.nodes.values()) expect(machine.applied).toEqual(['x'.repeat(8)]);
    await cluster.stop();
  });

  it("settles a follower's read at once when it stops while the leader is being asked, leaving no timer", async () => {
    let answer: (index: number) => void = () => {};
    const cluster = new TestCluster(ids, () => ({
      forwardRead: () =>
        new Promise<number>((resolve) => {
          answer = resolve;
        }),
    }));
    await cluster.start();
    const leader = await cluster.leader();
    const follower = [...cluster.nodes.values()].find((candidate) => candidate !== leader)!;
    const read = follower.node.read();
    read.catch(() => {});
    await settle();
    await follower.node.stop();
    // The leader's index arrives after the stop: the read began a 10 s wait on a stopped node.
    answer(follower.node.status().appliedIndex + 5);
    await settle();
    await expect(read).rejects.toBeInstanceOf(NodeStoppedError);
    await cluster.stop();
    expect(cluster.clock.pending).toBe(0);
  });

  it('stopped while it starts (restoring a snapshot), stops once started rather than running on', async () => {
    const cluster = new TestCluster(ids);
    await cluster.start();
    const leader = await cluster.leader();
    const proposed = leader.node.propose('x');
    await cluster.run(100);
    await proposed;
    await leader.node.snapshot();
    await leader.node.stop();
    cluster.network.detach(leader.node.id);
    const old = leader.storage as MemoryStorage<string>;
    const storage = new MemoryStorage<string>(old.durable, old.snapshots);
    let finishRestore: () => void = () => {};
    class SlowRestore extends CommandLog {
      override async restore(chunks: AsyncIterable<Uint8Array>): Promise<void> {
        await new Promise<void>((resolve) => {
          finishRestore = resolve;
        });
        return super.restore(chunks);
      }
    }
    let transitions = 0;
    const node = new RaftNode<string, number>({
      config: configFor(leader.node.id, ids),
      storage,
      transport: cluster.network.transport(leader.node.id, storage.snapshots),
      stateMachine: new SlowRestore(),
      clock: cluster.clock,
      onTransition: () => transitions++,
    });
    const started = node.start();
    await settle();
    let stopped = false;
    const stopping = node.stop().then(() => {
      stopped = true;
    });
    await settle();
    // It stopped before it had started: it returned at once, and the node then came up and ran.
    expect(stopped).toBe(false);
    finishRestore();
    await started;
    await stopping;
    const after = transitions;
    await cluster.run(1_000);
    expect(transitions).toBe(after);
    await expect(node.propose('z')).rejects.toBeInstanceOf(NodeStoppedError);
    await cluster.stop();
  });

  it('bounds the proposals it holds: past the limit it answers "overloaded" at once', async () => {
    const cluster = new TestCluster(ids, () => ({ maxPendingProposals: 2 }));
    await cluster.start();
    const leader = await cluster.leader();
    const accepted = [leader.node.propose('1'), leader.node.propose('2')];
    await expect(leader.node.propose('3')).rejects.toBeInstanceOf(OverloadedError);
    expect(leader.node.stats.proposals.overloaded).toBe(1);
    await cluster.run(100);
    await Promise.all(accepted);
    await expect(leader.node.propose('4')).resolves.toBeGreaterThan(0);
    await cluster.stop();
  });

  it('rejects a proposal whose entry was replaced after a change of leader', async () => {
    const cluster = new TestCluster(ids);
    await cluster.start();
    const old = await cluster.leader();
    await cluster.run(100);
    cluster.network.isolate(old.node.id);
    const stranded = old.node.propose('stranded');
    stranded.catch(() => {});
    // The others elect a new leader, which commits its own entries at the stranded one's index.
    let next = old;
    for (let waited = 0; next === old && waited < 5_000; waited += 50) {
      await cluster.run(50);
      next = [...cluster.nodes.values()].find((n) => n !== old && n.node.status().role === 'leader') ?? old;
    }
    expect(next).not.toBe(old);
    const replacement = next.node.propose('replacement');
    await cluster.run(100);
    await replacement;
    cluster.network.heal();
    await cluster.run(500);
    await expect(stranded).rejects.toBeInstanceOf(ProposalLostError);
    expect(old.machine.applied).toEqual(['replacement']);
    expect(old.node.stats.proposals.lost).toBe(1);
    await cluster.stop();
  });

  it('times out a proposal that cannot commit', async () => {
    const cluster = new TestCluster(ids, () => ({ proposalTimeoutMs: 1_000 }));
    await cluster.start();
    const leader = await cluster.leader();
    cluster.network.isolate(leader.node.id);
    const proposal = leader.node.propose('x');
    proposal.catch(() => {});
    await cluster.run(1_100);
    await expect(proposal).rejects.toBeInstanceOf(ProposalTimeoutError);
    expect(leader.node.pendingProposals).toBe(0);
    await cluster.stop();
  });

  it('never lets a send overtake a persist that is not yet durable, within or across transitions, while writes pipeline', async () => {
    await runWithSlowDisks(() => {});
  });

  it("keeps a leader's messages behind its own slow writes, each peer's in the order the core gave them", async () => {
    // The leader's disk is four times slower than the followers': acknowledgements come back before its own
    // writes end, and the core counts a commit that rests on the leader's write in flight.
    await runWithSlowDisks((leader) => {
      (leader.storage as SlowStorage).macrotasks = 12;
    });
  });

  it('never lets an acknowledgement leave before the entries it acknowledges are durable, even one answering a heartbeat during the write', async () => {
    // The followers' disks are so slow that heartbeats arrive while they write: the answer to one names the
    // entries being written, and (a transition without a persist of its own) must still wait for that write.
    const { answersDuringWrites } = await runWithSlowDisks((leader, cluster) => {
      for (const id of ids)
        if (id !== leader.node.id) (cluster.node(id).storage as SlowStorage).macrotasks = 150;
    });
    expect(answersDuringWrites, 'heartbeats answered while a write was in flight').toBeGreaterThan(0);
  });

  it('stops after a failed disk write, rejecting what it holds, and reports the failure', async () => {
    const failures: Error[] = [];
    let failWrites = false;
    const cluster = new TestCluster(ids, () => {
      const storage = new MemoryStorage<string>();
      const persist = storage.persist.bind(storage);
      storage.persist = (effect) =>
        failWrites ? Promise.reject(new Error('disk on fire')) : persist(effect);
      return { storage, onFatal: (error) => failures.push(error) };
    });
    await cluster.start();
    const leader = await cluster.leader();
    await cluster.run(100);
    failWrites = true;
    const proposal = leader.node.propose('x');
    proposal.catch(() => {});
    await cluster.run(20);
    // It was in the log, and sent to the followers, before the write failed: another leader may commit it.
    await expect(proposal).rejects.toBeInstanceOf(ProposalOutcomeUnknownError);
    await expect(proposal).rejects.toThrow(/node [a-c] stopped\) after the proposal went into its log/);
    expect(failures.map((error) => error.message)).toContain('disk on fire');
    await expect(leader.node.propose('y')).rejects.toBeInstanceOf(NodeStoppedError);
    await cluster.stop();
  });
});

describe('RaftNode taking a snapshot', () => {
  it('does not report a snapshot taken whose persist failed', async () => {
    const { cluster, storages } = onFillableStorage({ onStorageUnavailable: () => {} });
    await cluster.start();
    const leader = await cluster.leader();
    const proposed = leader.node.propose('x');
    await cluster.run(100);
    await proposed;
    storages.get(leader.node.id)!.full = true;
    await expect(leader.node.snapshot()).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(leader.node.stats.snapshots.taken).toBe(0);
    storages.get(leader.node.id)!.full = false;
    await cluster.stop();
  });
});

describe('RaftNode on a disk that hangs', () => {
  it('fails a read on the leader in time once it cannot step, rather than never', async () => {
    const { cluster, storages } = onFillableStorage({ proposalTimeoutMs: 500 });
    await cluster.start();
    const leader = await cluster.leader();
    storages.get(leader.node.id)!.hung = true;
    // Past the persists a node keeps in flight, it waits for its disk before it steps again.
    const proposals = Array.from({ length: 1_100 }, (_, i) => leader.node.propose(`p${i}`).catch(() => {}));
    await cluster.run(20);
    const read = leader.node.read();
    read.catch(() => {});
    await cluster.run(600);
    await expect(read).rejects.toBeInstanceOf(RequestTimeoutError);
    await Promise.all(proposals);
    storages.get(leader.node.id)!.hung = false;
  });
});

describe('RaftNode on storage that can reopen', () => {
  it('steps aside when its disk is full, says why, and rejoins by itself once there is space', async () => {
    const reports: (string | null)[] = [];
    const { cluster, storages } = onFillableStorage({
      onStorageUnavailable: (error) => reports.push(error?.message ?? null),
      reopenBackoffMs: [50, 200],
    });
    await cluster.start();
    const leader = await cluster.leader();
    const proposed = leader.node.propose('before');
    await cluster.run(100);
    await proposed;
    const storage = storages.get(leader.node.id)!;
    storage.full = true;
    const refused = leader.node.propose('refused');
    refused.catch(() => {});
    await cluster.run(20);
    // Sent to the followers while the leader's own write failed: whether it is committed is not known here.
    await expect(refused).rejects.toBeInstanceOf(ProposalOutcomeUnknownError);
    await expect(refused).rejects.toThrow(/ENOSPC: no space left on device/);
    expect(await refused.catch((error: Error) => error.cause)).toBeInstanceOf(StorageUnavailableError);
    await expect(leader.node.propose('again')).rejects.toThrow(/storage unavailable: .*ENOSPC/);
    expect(leader.node.status()).toMatchObject({ role: 'follower', leaderId: null });
    expect(leader.node.status().unavailable).toMatch(/ENOSPC/);
    expect(reports).toEqual([expect.stringMatching(/ENOSPC/)]);

    // The others go on without it.
    let next = leader;
    for (let waited = 0; next === leader && waited < 5_000; waited += 50) {
      await cluster.run(50);
      next = [...cluster.nodes.values()].find((n) => n.node.status().role === 'leader') ?? leader;
    }
    expect(next).not.toBe(leader);
    const during = next.node.propose('during');
    await cluster.run(100);
    await during;
    await cluster.run(1_000);
    expect(storage.reopenAttempts).toBeGreaterThan(2);
    expect(leader.node.status().unavailable).toBeDefined();

    // Space again: it rejoins, catches up, and applies each command once. Its peers see it connect anew, as
    // after a restart (a snapshot they sent the old core is lost with it).
    expect(cluster.network.stats.reconnections).toBe(0);
    storage.full = false;
    await cluster.run(1_000);
    expect(reports.at(-1)).toBeNull();
    expect(cluster.network.stats.reconnections).toBe(1);
    expect(leader.node.status().unavailable).toBeUndefined();
    const after = next.node.propose('after');
    await cluster.run(200);
    await after;
    await cluster.run(200);
    // 'refused' may be there: the leader sent it to the followers before its own write failed, and the new
    // leader committed it (its proposer was told the outcome is unknown). Everything is applied once, everywhere.
    const applied = next.machine.applied;
    expect(applied.filter((command) => command !== 'refused')).toEqual(['before', 'during', 'after']);
    for (const { machine } of cluster.nodes.values()) expect(machine.applied).toEqual(applied);
    await cluster.stop();
  });

  it('stays down (fatal) when reopening finds damage', async () => {
    const failures: Error[] = [];
    const storage = new FillableStorage();
    const cluster = new TestCluster(['a'], () => ({
      storage,
      onStorageUnavailable: () => {},
      onFatal: (error) => failures.push(error),
    }));
    await cluster.start();
    const { node } = await cluster.leader();
    storage.full = true;
    storage.damaged = true;
    node.propose('x').catch(() => {});
    await cluster.run(500);
    expect(failures.map((error) => error.name)).toEqual(['StorageCorruptionError']);
    await expect(node.propose('y')).rejects.toBeInstanceOf(NodeStoppedError);
  });
});

/**
 * A memory storage with a disk that can fill up: while `full`, every persist fails with ENOSPC, and once one
 * failed all do until `reopen` (which fails while full) succeeds.
 */
/** A cluster whose nodes each have a FillableStorage, by id, and `options`. */
function onFillableStorage(options: NodeExtras): {
  cluster: TestCluster;
  storages: Map<string, FillableStorage>;
} {
  const storages = new Map<string, FillableStorage>();
  const cluster = new TestCluster(ids, (id) => ({
    ...options,
    storage: storages.set(id, new FillableStorage()).get(id)!,
  }));
  return { cluster, storages };
}

class FillableStorage implements Storage<string> {
  readonly #inner = new MemoryStorage<string>();
  /** Writes neither land nor fail: a disk that hangs. */
  hung = false;
  full = false;
  damaged = false;
  reopenAttempts = 0;
  #failed = false;

  load(): Promise<Durable<string>> {
    return this.#inner.load();
  }

  async persist(effect: PersistEffect<string>): Promise<void> {
    if (this.hung) return new Promise<void>(() => {});
    if (this.full || this.#failed) {
      this.#failed = true;
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }
    await this.#inner.persist(effect);
  }

  async reopen(): Promise<Durable<string>> {
    this.reopenAttempts++;
    if (this.damaged) throw new StorageCorruptionError('wal-00000001.log', 1024, 'checksum mismatch');
    if (this.full)
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    this.#failed = false;
    return this.#inner.durable;
  }

  get snapshots() {
    return this.#inner.snapshots;
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

/**
 * Six proposals (two, one more as each of them is applied, and two a few macrotasks later) on a 3-node cluster whose disks take a few macrotasks per write (`slow` may slow the leader's
 * down), every effect numbered in the node's effect order; checks, on every node, that no send overtakes a
 * write in flight placed before it (of its transition or an earlier one): a vote or an acknowledgement never
 * leaves before what it promises is durable, nor a commit index that rests on the leader's own write. (A
 * leader's sends placed before its write in the same transition go at once: thesis §10.2.1.) Returns how many
 * acknowledgements left while some write was in flight.
 */
async function runWithSlowDisks(
  slow: (leader: TestNode, cluster: TestCluster) => void,
): Promise<{ answersDuringWrites: number }> {
  // Every effect gets its place in the node's effect order; storage and network log what they see by place.
  const places = new WeakMap<object, number>();
  const log: { id: string; what: 'begins' | 'ends' | 'send'; place: number; message?: Message<string> }[] =
    [];
  const cluster = new TestCluster(ids, (id) => {
    let next = 0;
    return {
      storage: new SlowStorage((what, effect) => log.push({ id, what, place: places.get(effect)! })),
      onTransition: (_event, _state, effects) => {
        for (const effect of effects) places.set(effect.type === 'send' ? effect.message : effect, next++);
      },
    };
  });
  const route = cluster.network.route.bind(cluster.network);
  cluster.network.route = (sender, running, message) => {
    log.push({ id: sender, what: 'send', place: places.get(message)!, message });
    route(sender, running, message);
  };
  await cluster.start();
  const leader = await cluster.leader();
  slow(leader, cluster);
  let answersDuringWrites = 0;
  // Two proposals at once, then two more once the followers have had time to acknowledge the first ones.
  // And each of the first two, once applied, proposes another at once (as a client answered proposes its next
  // write): that transition runs while effects wait for the leader's writes.
  const first = ['p', 'q'].map((command) => leader.node.propose(command));
  const next = first.map((applied, i) => applied.then(() => leader.node.propose(['t', 'u'][i]!)));
  await settle(7);
  const results = Promise.all([
    ...first,
    ...next,
    ...['r', 's'].map((command) => leader.node.propose(command)),
  ]);
  await cluster.run(1_000);
  await results;
  let pipelined = 0;
  for (const id of ids) {
    const writing = new Set<number>();
    for (const { what, place, message } of log.filter((line) => line.id === id)) {
      if (what === 'begins') writing.add(place);
      if (what === 'ends') writing.delete(place);
      if (what === 'send') {
        const earlier = [...writing].filter((write) => write < place);
        const text = `${id} sent ${JSON.stringify(message)} (effect ${place}) before writes ${earlier} were durable`;
        expect(earlier, text).toEqual([]);
        if (message?.type === 'AppendEntriesResponse' && writing.size > 0) answersDuringWrites++;
      }
      if (writing.size > 1) pipelined++;
    }
  }
  // Each node's messages to each peer leave in the order its core gave them (an append that overtook another
  // would be rejected, and the leader fall back to probing that follower).
  for (const id of ids) {
    for (const to of ids) {
      const sent = log.filter((line) => line.id === id && line.what === 'send' && line.message?.to === to);
      const order = sent.map((line) => line.place);
      expect(order, `${id} to ${to}`).toEqual([...order].sort((a, b) => a - b));
    }
  }
  expect(log.filter((line) => line.what === 'begins').length).toBeGreaterThan(6);
  expect(pipelined, 'writes of several transitions in flight at once').toBeGreaterThan(0);
  expect([...leader.machine.applied].sort()).toEqual(['p', 'q', 'r', 's', 't', 'u']);
  for (const id of ids) expect(cluster.node(id).machine.applied).toEqual(leader.machine.applied);
  await cluster.stop();
  return { answersDuringWrites };
}

/** A storage whose writes take a few macrotasks, telling when each begins and ends. */
class SlowStorage implements Storage<string> {
  readonly #inner = new MemoryStorage<string>();
  /** Macrotasks each write takes. */
  macrotasks = 3;

  constructor(private readonly tell: (what: 'begins' | 'ends', effect: PersistEffect<string>) => void) {}

  load(): Promise<Durable<string>> {
    return this.#inner.load();
  }

  async persist(effect: PersistEffect<string>): Promise<void> {
    this.tell('begins', effect);
    await settle(this.macrotasks);
    await this.#inner.persist(effect);
    this.tell('ends', effect);
  }

  get snapshots() {
    return this.#inner.snapshots;
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
