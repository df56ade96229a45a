/**
 * The core's throughput beside a peer, in one process run: the JavaScript port of etcd's raft
 * (`@coaty/consensus.raft`, its `ported/` RawNode over MemoryStorage, driven through ready()/advance()).
 *
 * The workload, the same for both: N nodes in memory, a perfect FIFO network; the leader proposes small
 * commands (16 bytes), B of them before each delivery round, and every message is delivered until the cluster
 * is quiet; each node folds its log writes into an in-memory log and counts the commands it applied. A row
 * passes once every node applied every command.
 *
 *   npm run bench:core                 (BENCH_COMMANDS=20000 per row; BENCH_ROUNDS=5, the best is printed)
 *
 * The peer is installed for the benchmark alone, into bench/peer (it is not a dependency of pureraft):
 *   npm install --prefix bench/peer --ignore-scripts --no-save @coaty/consensus.raft@1.0.0
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Effect, type Entry, type Event, init, type RaftState, step } from '../src/core/index.js';
import { DurableLog } from '../src/effects/storage/storage.js';

const COMMANDS = Number(process.env.BENCH_COMMANDS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARM_UP_COMMANDS = 5_000;
const ROWS: readonly { nodes: number; batch: number }[] = [
  { nodes: 3, batch: 1 },
  { nodes: 3, batch: 64 },
  { nodes: 5, batch: 1 },
  { nodes: 5, batch: 64 },
];

/** A command of 16 bytes. */
const commandOf = (i: number): string => `cmd-${String(i).padStart(12, '0')}`;

/** One cluster of some implementation, behind the few calls the workload needs. */
interface Contender {
  propose(command: string): void;
  /** Delivers every message in flight, and those they cause, until none is left. */
  deliverAll(): void;
  /** Commands applied, the least over all nodes. */
  appliedEverywhere(): number;
}

// ---------------------------------------------------------------------------------------------------------
// pureraft: the reducer, effects interpreted in memory.

class PureCluster implements Contender {
  readonly #ids: string[];
  readonly #states = new Map<string, RaftState<string>>();
  readonly #logs = new Map<string, DurableLog<string>>();
  readonly #applied = new Map<string, number>();
  /** FIFO: messages in send order, delivered from the head. */
  #queue: { to: string; event: Event<string> }[] = [];
  #head = 0;

  constructor(nodes: number) {
    this.#ids = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
    for (const [position, id] of this.#ids.entries()) {
      this.#logs.set(id, new DurableLog<string>());
      this.#applied.set(id, 0);
      const [state] = init<string>({
        id,
        voters: this.#ids,
        electionTimeout: [150, 300],
        heartbeatInterval: 50,
        seed: position + 1,
      });
      this.#states.set(id, state);
    }
    this.#step('n1', { type: 'timeout', timer: 'election' });
    this.deliverAll();
    if (this.#states.get('n1')!.role !== 'leader') throw new Error('pureraft: n1 did not become leader');
  }

  propose(command: string): void {
    this.#step('n1', { type: 'propose', command });
  }

  deliverAll(): void {
    while (this.#head < this.#queue.length) {
      const { to, event } = this.#queue[this.#head++]!;
      this.#step(to, event);
    }
    this.#queue = [];
    this.#head = 0;
  }

  appliedEverywhere(): number {
    return Math.min(...this.#applied.values());
  }

  #step(id: string, event: Event<string>): void {
    const [state, effects] = step(this.#states.get(id)!, event);
    this.#states.set(id, state);
    this.#execute(id, effects);
  }

  #execute(id: string, effects: readonly Effect<string>[]): void {
    for (const effect of effects) {
      if (effect.type === 'persist') this.#logs.get(id)!.apply(effect);
      else if (effect.type === 'send') {
        this.#queue.push({ to: effect.message.to, event: { type: 'receive', message: effect.message } });
      } else if (effect.type === 'apply') {
        let commands = 0;
        for (const entry of effect.entries as readonly Entry<string>[])
          if (entry.kind === 'command') commands++;
        this.#applied.set(id, this.#applied.get(id)! + commands);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// The etcd port: RawNode over MemoryStorage, the loop etcd's docs prescribe (save, send, apply, advance).

interface EtcdPort {
  RawNode: { NewRawNode(config: unknown): EtcdRawNode };
  RaftConfig: new (param: Record<string, unknown>) => unknown;
  MemoryStorage: { NewMemoryStorage(): EtcdStorage };
  Snapshot: new (param: Record<string, unknown>) => unknown;
  SnapshotMetadata: new (param: Record<string, unknown>) => unknown;
  ConfState: new (param: Record<string, unknown>) => unknown;
  EntryType: { EntryNormal: number };
}
interface EtcdStorage {
  ApplySnapshot(snapshot: unknown): unknown;
  Append(entries: unknown[]): unknown;
  SetHardState(hardState: unknown): unknown;
}
interface EtcdReady {
  entries: unknown[];
  hardState: unknown;
  messages: { to: string }[];
  committedEntries: { type: number; data: unknown }[];
}
interface EtcdRawNode {
  campaign(): unknown;
  propose(data: unknown): unknown;
  step(message: unknown): unknown;
  hasReady(): boolean;
  ready(): EtcdReady;
  advance(ready: EtcdReady): void;
}

const peerDir = join(import.meta.dirname, 'peer');
const INSTALL = 'npm install --prefix bench/peer --ignore-scripts --no-save @coaty/consensus.raft@1.0.0';

/**
 * Loads the port's `ported/` modules. They need one value from the package's Coaty glue (`emptyRaftData`, which
 * is null), whose module would pull in Coaty, RxJS and SQLite: a stub of that one module stands in for it.
 */
function loadPeer(): EtcdPort | null {
  const root = join(peerDir, 'node_modules', '@coaty', 'consensus.raft', 'ported');
  if (!existsSync(root)) return null;
  const require = createRequire(join(root, 'index.js'));
  const glue = require.resolve('../non-ported/raft-controller.js');
  require.cache[glue] = {
    id: glue,
    filename: glue,
    loaded: true,
    exports: { emptyRaftData: null },
  } as NodeJS.Module;
  const pb = require('./raftpb/raft.pb.js') as Record<string, unknown>;
  return {
    RawNode: (require('./rawnode.js') as { RawNode: EtcdPort['RawNode'] }).RawNode,
    RaftConfig: (require('./raft.js') as { RaftConfig: EtcdPort['RaftConfig'] }).RaftConfig,
    MemoryStorage: (require('./storage.js') as { MemoryStorage: EtcdPort['MemoryStorage'] }).MemoryStorage,
    Snapshot: pb.Snapshot as EtcdPort['Snapshot'],
    SnapshotMetadata: pb.SnapshotMetadata as EtcdPort['SnapshotMetadata'],
    ConfState: pb.ConfState as EtcdPort['ConfState'],
    EntryType: pb.EntryType as EtcdPort['EntryType'],
  };
}

class EtcdCluster implements Contender {
  readonly #nodes = new Map<string, { raw: EtcdRawNode; storage: EtcdStorage; applied: number }>();
  #queue: { to: string }[] = [];
  #head = 0;

  constructor(
    private readonly port: EtcdPort,
    nodes: number,
  ) {
    const ids = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
    for (const id of ids) {
      const storage = port.MemoryStorage.NewMemoryStorage();
      // etcd's tests start a cluster from a snapshot naming its voters (newTestMemoryStorage(withPeers(...))).
      const confState = new port.ConfState({ voters: ids });
      storage.ApplySnapshot(
        new port.Snapshot({ metadata: new port.SnapshotMetadata({ confState, index: 1, term: 1 }) }),
      );
      const config = new port.RaftConfig({
        id,
        electionTick: 10,
        heartbeatTick: 1,
        storage,
        maxSizePerMsg: 1024 * 1024,
        maxInflightMsgs: 256,
        maxUncommittedEntriesSize: 1 << 30,
      });
      this.#nodes.set(id, { raw: port.RawNode.NewRawNode(config), storage, applied: 0 });
    }
    this.#node('n1').raw.campaign();
    this.#drain('n1');
    this.deliverAll();
  }

  #node(id: string) {
    return this.#nodes.get(id)!;
  }

  propose(command: string): void {
    this.#node('n1').raw.propose(command);
    this.#drain('n1');
  }

  deliverAll(): void {
    while (this.#head < this.#queue.length) {
      const message = this.#queue[this.#head++]!;
      this.#node(message.to).raw.step(message);
      this.#drain(message.to);
    }
    this.#queue = [];
    this.#head = 0;
  }

  appliedEverywhere(): number {
    return Math.min(...[...this.#nodes.values()].map((node) => node.applied));
  }

  /** Handles every Ready of one node: persist, send, apply, advance. */
  #drain(id: string): void {
    const node = this.#node(id);
    while (node.raw.hasReady()) {
      const ready = node.raw.ready();
      node.storage.Append(ready.entries);
      node.storage.SetHardState(ready.hardState);
      for (const message of ready.messages) this.#queue.push(message);
      for (const entry of ready.committedEntries) {
        if (
          entry.type === this.port.EntryType.EntryNormal &&
          entry.data !== undefined &&
          entry.data !== null
        ) {
          if (typeof entry.data === 'string' && entry.data.length > 0) node.applied++;
        }
      }
      node.raw.advance(ready);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------

/** CPU seconds this process has used: unlike wall time, it does not count time other processes took. */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/**
 * Commands per CPU second of each contender on one row, the best of ROUNDS fresh clusters each. CPU time, not
 * wall time: the run is single-threaded, and CPU time stays honest on a machine that is busy with other work.
 * The contenders take turns, round by round, so that a slow spell of the machine (seen here: a few seconds in
 * which every run went a third slower) falls on both rather than on all the rounds of one.
 */
function measure(contenders: readonly (() => Contender)[], batch: number): number[] {
  const best = contenders.map(() => 0);
  for (let round = 0; round < ROUNDS; round++) {
    contenders.forEach((make, i) => {
      best[i] = Math.max(best[i]!, run(make(), batch, COMMANDS));
    });
  }
  return best;
}

/** Proposes `commands`, `batch` before each delivery round, on a fresh cluster; returns commands per CPU second. */
function run(cluster: Contender, batch: number, commands: number): number {
  const base = cluster.appliedEverywhere();
  const started = cpuSeconds();
  for (let sent = 0; sent < commands; ) {
    for (let i = 0; i < batch && sent < commands; i++) cluster.propose(commandOf(sent++));
    cluster.deliverAll();
  }
  const seconds = cpuSeconds() - started;
  const applied = cluster.appliedEverywhere() - base;
  // The last commit reaches followers with the next message: the leader and a majority must have all.
  if (applied < commands - batch)
    throw new Error(`only ${applied} of ${commands} commands applied everywhere`);
  return commands / seconds;
}

const alone = process.env.BENCH_ONLY === 'pureraft';
const port = alone ? null : loadPeer();
console.log(
  `bench:core: ${COMMANDS} commands of 16 bytes per row, best of ${ROUNDS} runs; node ${process.version}`,
);
if (alone) console.log('(BENCH_ONLY=pureraft: without the etcd port)');
else if (port === null) console.log(`(the etcd port is not installed; to compare, run: ${INSTALL})`);
console.log('');
const header = ['nodes', 'batch', 'pureraft cmd/cpu-s', 'etcd port cmd/cpu-s', 'ratio'];
console.log(header.join('\t'));
// BENCH_ROWS=5x1,3x64 picks rows (for profiling one workload).
const picked = process.env.BENCH_ROWS?.split(',');
const rows = ROWS.filter((row) => picked?.includes(`${row.nodes}x${row.batch}`) ?? true);
// A warm-up, unmeasured, of each contender on each row: V8 compiles the hot code of both before any row counts
// (without it the first row, measured while the compiler still works, moved by half from run to run).
for (const { nodes, batch } of rows) {
  run(new PureCluster(nodes), batch, WARM_UP_COMMANDS);
  if (port !== null) run(new EtcdCluster(port, nodes), batch, WARM_UP_COMMANDS);
}
for (const { nodes, batch } of rows) {
  const [ours = 0, theirs] = measure(
    [() => new PureCluster(nodes), ...(port === null ? [] : [() => new EtcdCluster(port, nodes)])],
    batch,
  );
  const ratio = theirs === undefined ? '-' : (ours / theirs).toFixed(2);
  console.log(
    [nodes, batch, Math.round(ours), theirs === undefined ? '-' : Math.round(theirs), ratio].join('\t'),
  );
}
