/**
 * RaftNode with snapshots (§7), in memory: snapshots taken on request and by policy, a follower that fell
 * behind the leader's compaction catching up by snapshot, and a restart that restores a snapshot and replays
 * only the log after it. Snapshot data travels between the nodes' stores as over TCP (MemoryNetwork).
 */
import { describe, expect, it } from 'vitest';
import type { InstallSnapshot } from '../../core/index.js';
import { MemorySnapshotStore, MemoryStorage } from '../../effects/storage/index.js';
import { ManualClock } from '../../effects/timers/index.js';
import { MemoryNetwork } from '../../effects/transport/index.js';
import { NodeStoppedError } from './errors.js';
import { RaftNode } from './node.js';
import { DEFERRED_SNAPSHOT_FACTOR } from './snapshot-policy.js';
import {
  type TestCluster as Cluster,
  CommandLog,
  configFor,
  TestCluster,
  type TestNode,
} from './test-support.js';

const ids = ['a', 'b', 'c'];

/** Proposes the commands on the leader, one after the other, running the cluster until each is applied. */
async function proposeAll(cluster: Cluster, leader: TestNode, commands: readonly string[]): Promise<void> {
  for (const command of commands) {
    const applied = leader.node.propose(command);
    await cluster.run(20);
    await applied;
  }
}

const commands = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

function storeOf(node: TestNode): MemorySnapshotStore {
  const { snapshots } = node.storage;
  if (!(snapshots instanceof MemorySnapshotStore)) throw new Error('not a memory snapshot store');
  return snapshots;
}

describe('RaftNode snapshots', () => {
  it('snapshot() resolves with the index once the snapshot is durable and the log compacted through it', async () => {
    const cluster = new TestCluster(ids, () => ({ snapshotPolicy: false }));
    await cluster.start();
    const leader = await cluster.leader();
    await proposeAll(cluster, leader, ['x', 'y', 'z']);
    const applied = leader.node.status().appliedIndex;
    const taking = leader.node.snapshot();
    expect(leader.node.snapshot(), 'a snapshot in progress is awaited, not taken twice').toBe(taking);
    expect(await taking).toBe(applied);
    expect(leader.node.status().snapshotIndex).toBe(applied);
    const durable = cluster.durable(leader.node.id);
    expect(durable.snapshot?.meta.index).toBe(applied);
    expect(durable.entries).toEqual([]);
    expect(leader.node.stats.snapshots).toMatchObject({ taken: 1, installed: 0, restored: 0 });
    expect(leader.node.stats.snapshots.takenBytes).toBeGreaterThan(0);
    // Nothing applied since: the same index, and no new snapshot.
    expect(await leader.node.snapshot()).toBe(applied);
    expect(leader.node.stats.snapshots.taken).toBe(1);
    await cluster.stop();
  });

  it('takes snapshots by its policy: every N applied entries', async () => {
    const cluster = new TestCluster(ids, () => ({ snapshotPolicy: { entries: 5 } }));
    await cluster.start();
    const leader = await cluster.leader();
    await proposeAll(cluster, leader, commands('e', 12));
    await cluster.run(50);
    for (const { node } of cluster.nodes.values()) {
      // 13 entries with the leader's no-op: snapshots at 5 and 10 at least, on followers too.
      expect(node.stats.snapshots.taken, node.id).toBeGreaterThanOrEqual(2);
      expect(node.status().snapshotIndex, node.id).toBeGreaterThanOrEqual(10);
      expect(cluster.durable(node.id).entries.length, node.id).toBeLessThan(5);
    }
    await cluster.stop();
  });

  it('takes snapshots by its policy: once the commands applied since the last one pass M bytes', async () => {
    const cluster = new TestCluster(ids, () => ({ snapshotPolicy: { entries: 1_000_000, bytes: 100 } }));
    await cluster.start();
    const leader = await cluster.leader();
    const forty = (name: string) => name.padEnd(40, '.');
    await proposeAll(cluster, leader, [forty('one'), forty('two')]);
    await cluster.run(50);
    expect(leader.node.stats.snapshots.taken, '80 bytes applied').toBe(0);
    await proposeAll(cluster, leader, [forty('three')]);
    await cluster.run(50);
    expect(leader.node.stats.snapshots.taken, '120 bytes applied').toBe(1);
    expect(leader.node.status().snapshotIndex).toBe(leader.node.status().appliedIndex);
    await cluster.stop();
  });

  it('catches up a follower cut off while the leader compacted, by snapshot, and releases stale copies', async () => {
    const cluster = new TestCluster(ids, () => ({ snapshotPolicy: { entries: 10 } }));
    await cluster.start();
    const leader = await cluster.leader();
    const behind = [...cluster.nodes.values()].find((n) => n !== leader)!;
    cluster.network.isolate(behind.node.id);
    await proposeAll(cluster, leader, commands('c', 30));
    const compactedThrough = leader.node.status().snapshotIndex;
    expect(compactedThrough).toBeGreaterThan(behind.node.status().lastIndex);

    cluster.network.heal();
    await cluster.run(1_000);
    expect(behind.node.stats.snapshots.installed).toBe(1);
    expect(behind.machine.applied).toEqual(leader.machine.applied);
    expect(behind.machine.applied).toEqual(commands('c', 30));
    expect(behind.machine.applyCalls, 'the entries in the snapshot were not applied one by one').toBeLessThan(
      30,
    );
    expect(behind.node.status()).toMatchObject({
      appliedIndex: leader.node.status().appliedIndex,
      snapshotIndex: compactedThrough,
    });
    expect(storeOf(behind).size, 'only the current snapshot is held').toBe(1);

    // A copy of the same snapshot arriving again is stale: the follower answers it and lets go of its data.
    const sent = leader.transitions
      .flatMap(({ effects }) => effects)
      .flatMap((effect) => (effect.type === 'send' ? [effect.message] : []))
      .filter((message): message is InstallSnapshot => message.type === 'InstallSnapshot')
      .at(-1)!;
    cluster.network.route(leader.node.id, true, { ...sent, term: leader.node.status().term });
    await cluster.run(20);
    expect(behind.transitions.at(-1)?.event).toMatchObject({ message: { type: 'InstallSnapshot' } });
    expect(behind.node.stats.snapshots.installed).toBe(1);
    expect(storeOf(behind).size).toBe(1);
    await cluster.stop();
  });

  it('restarts from its snapshot and applies only the entries after it', async () => {
    const cluster = new TestCluster(ids, () => ({ snapshotPolicy: false }));
    await cluster.start();
    const leader = await cluster.leader();
    const follower = [...cluster.nodes.values()].find((n) => n !== leader)!;
    await proposeAll(cluster, leader, commands('s', 5));
    await cluster.run(50);
    const snapshotIndex = await follower.node.snapshot();
    await proposeAll(cluster, leader, commands('t', 3));
    await cluster.run(50);
    expect(cluster.durable(follower.node.id).entries.map((entry) => entry.index)).toEqual([
      snapshotIndex + 1,
      snapshotIndex + 2,
      snapshotIndex + 3,
    ]);

    const restarted = await cluster.restart(follower.node.id);
    expect(restarted.node.stats.snapshots.restored).toBe(1);
    expect(restarted.machine.applied, 'restored before it serves').toEqual(commands('s', 5));
    expect(restarted.machine.applyCalls).toBe(0);
    await cluster.run(300);
    expect(restarted.machine.applied).toEqual([...commands('s', 5), ...commands('t', 3)]);
    expect(restarted.machine.applyCalls, 'only the tail after the snapshot').toBe(3);
    await cluster.stop();
  });

  it('defers compaction while a snapshot is on its way to a follower, up to a bound', async () => {
    // A follower catching up from a snapshot needs the entries after it: compacted away meanwhile, the leader
    // sent a newer snapshot, and a transfer slower than the writes that call for the next snapshot never ended.
    let inFlight = 1;
    const transport = {
      send: () => {},
      onMessage: () => {},
      start: async () => {},
      stop: async () => {},
      get snapshotsInFlight() {
        return inFlight;
      },
    };
    const clock = new ManualClock();
    const node = new RaftNode<string, number>({
      config: configFor('a', ['a']),
      storage: new MemoryStorage<string>(),
      transport,
      stateMachine: new CommandLog(),
      clock,
      snapshotPolicy: { entries: 5 },
    });
    await node.start();
    for (let step = 0; step < 200 && node.status().role !== 'leader'; step++) {
      clock.advance(5);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const proposeUpTo = async (index: number) => {
      while (node.status().appliedIndex < index) await node.propose('x');
      await new Promise((resolve) => setTimeout(resolve, 10));
    };
    await proposeUpTo(5 * DEFERRED_SNAPSHOT_FACTOR - 1);
    expect(node.stats.snapshots.taken).toBe(0);
    // The bound: memory and disk stay within that many times the policy.
    await proposeUpTo(5 * DEFERRED_SNAPSHOT_FACTOR);
    expect(node.stats.snapshots.taken).toBe(1);
    inFlight = 0;
    await proposeUpTo(5 * DEFERRED_SNAPSHOT_FACTOR + 5);
    expect(node.stats.snapshots.taken).toBe(2);
    await node.stop();
  });

  it('skips a restore that a newer snapshot superseded while it waited behind a slow one', async () => {
    // A follower restoring a large state while its leader, taking snapshots often, sends it two newer ones: the
    // store keeps only the newest snapshot's data, and the middle restore, queued, found its data gone (fatal).
    const storage = new MemoryStorage<string>();
    let deliver: (message: InstallSnapshot) => void = () => {};
    const transport = {
      send: () => {},
      onMessage: (handler: (message: InstallSnapshot) => void) => {
        deliver = handler;
      },
      start: async () => {},
      stop: async () => {},
    };
    const machine = new CommandLog();
    const restored: number[] = [];
    const slowRestores: (() => void)[] = [];
    const restore = machine.restore.bind(machine);
    machine.restore = async (chunks) => {
      await restore(chunks);
      await new Promise<void>((resolve) => slowRestores.push(resolve));
      restored.push(machine.applied.length);
    };
    let fatal: Error | undefined;
    const node = new RaftNode<string, number>({
      config: { ...configFor('b', ids), electionTimeout: [10_000, 20_000] },
      storage,
      transport: transport as never,
      stateMachine: machine,
      snapshotPolicy: false,
      onFatal: (error) => {
        fatal = error;
      },
    });
    await node.start();
    const install = async (index: number) => {
      // What the transport's receiver does: the data into the store, then the message with its reference.
      const writer = storage.snapshots.create();
      await writer.write(new TextEncoder().encode(JSON.stringify(commands('c', index))));
      const data = await writer.finish();
      const membership = { voters: ids, learners: [] };
      deliver({
        type: 'InstallSnapshot',
        term: 1,
        from: 'a',
        to: 'b',
        round: index,
        snapshot: { meta: { index, term: 1, membership }, data },
      });
      await new Promise((resolve) => setTimeout(resolve, 10));
    };
    await install(100);
    await install(200);
    await install(300);
    // The first restore ends; the one of 200 is superseded by 300's, which runs.
    while (restored.length < 2 && fatal === undefined) {
      slowRestores.shift()?.();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(fatal).toBeUndefined();
    expect(restored).toEqual([100, 300]);
    expect(node.status()).toMatchObject({ appliedIndex: 300, snapshotIndex: 300 });
    await node.stop();
  });

  it('refuses to start when its snapshot cannot be restored, rather than serve an empty state', async () => {
    const cluster = new TestCluster(ids, () => ({ snapshotPolicy: false }));
    await cluster.start();
    const leader = await cluster.leader();
    const follower = [...cluster.nodes.values()].find((n) => n !== leader)!;
    await proposeAll(cluster, leader, ['x']);
    await cluster.run(50);
    await follower.node.snapshot();
    await follower.node.stop();
    const storage = new MemoryStorage(cluster.durable(follower.node.id), storeOf(follower));
    const machine = new CommandLog();
    machine.restore = () => Promise.reject(new Error('not a snapshot of mine'));
    const restarted = new RaftNode<string, number>({
      config: configFor(follower.node.id, ids),
      storage,
      transport: new MemoryNetwork<string>().transport(follower.node.id, storage.snapshots),
      stateMachine: machine,
      clock: cluster.clock,
    });
    await expect(restarted.start()).rejects.toThrow('not a snapshot of mine');
    expect(() => restarted.status()).not.toThrow();
    await expect(restarted.propose('y')).rejects.toBeInstanceOf(NodeStoppedError);
    await cluster.stop();
  });
});
