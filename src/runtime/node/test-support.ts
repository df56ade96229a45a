/**
 * A cluster of RaftNodes in one process for tests: in-memory network and storage, and a manual clock so
 * elections happen when the test says. Messages still travel asynchronously (one macrotask each), so
 * `run` advances the clock in small steps and lets the event loop deliver what each step sent. Snapshots
 * travel between the nodes' snapshot stores (MemoryNetwork), and `restart` brings a node back from what its
 * storage holds.
 */
import type { Config, Durable, Effect, Event, NodeId, RaftState } from '../../core/index.js';
import type { StateMachine } from '../../effects/apply/index.js';
import { MemoryStorage, type Storage } from '../../effects/storage/index.js';
import { ManualClock } from '../../effects/timers/index.js';
import { MemoryNetwork, type MemoryNetworkOptions } from '../../effects/transport/index.js';
import { RaftNode, type RaftNodeOptions } from './node.js';

/** Records the commands it applies; each result is the index the command was applied at. */
export class CommandLog implements StateMachine<string, number> {
  applied: string[] = [];
  /** Calls of `apply` in this incarnation: what a restore did not have to replay. */
  applyCalls = 0;

  apply(command: string, index: number): number {
    this.applied.push(command);
    this.applyCalls++;
    return index;
  }

  /** The list so far, as JSON: captured now (a copy), serialized when read. */
  *snapshot(): Iterable<Uint8Array> {
    const captured = [...this.applied];
    yield new TextEncoder().encode(JSON.stringify(captured));
  }

  async restore(chunks: AsyncIterable<Uint8Array>): Promise<void> {
    const parts: Uint8Array[] = [];
    for await (const chunk of chunks) parts.push(chunk);
    this.applied = JSON.parse(Buffer.concat(parts).toString('utf8')) as string[];
  }
}

export interface Transition {
  readonly event: Event<string> | undefined;
  readonly state: RaftState<string>;
  readonly effects: readonly Effect<string>[];
}

export interface TestNode {
  readonly node: RaftNode<string, number>;
  readonly machine: CommandLog;
  /** The node's storage: memory storage, unless the test gave another. */
  readonly storage: Storage<string>;
  readonly transitions: Transition[];
}

export function configFor(id: NodeId, voters: readonly NodeId[], seed = 1): Config {
  return { id, voters, electionTimeout: [150, 300], heartbeatInterval: 50, seed };
}

/** What a test may set for a node: any option, and its storage (memory by default). */
export type NodeExtras = Partial<RaftNodeOptions<string, number>> & { storage?: Storage<string> };

export class TestCluster {
  readonly clock = new ManualClock();
  readonly network: MemoryNetwork<string>;
  readonly nodes = new Map<NodeId, TestNode>();

  constructor(
    readonly ids: readonly NodeId[],
    private readonly extra: (id: NodeId) => NodeExtras = () => ({}),
    network: MemoryNetworkOptions<string> = {},
  ) {
    this.network = new MemoryNetwork<string>(network);
    for (const id of ids) this.nodes.set(id, this.#create(id, new MemoryStorage<string>()));
  }

  #create(id: NodeId, defaultStorage: MemoryStorage<string>): TestNode {
    const machine = new CommandLog();
    const transitions: Transition[] = [];
    const options = {
      config: configFor(id, this.ids, this.ids.indexOf(id) + 1),
      storage: defaultStorage,
      stateMachine: machine,
      clock: this.clock,
      onTransition: (event, state, effects) => transitions.push({ event, state, effects }),
      ...this.extra(id),
    } satisfies Omit<RaftNodeOptions<string, number>, 'transport'>;
    const transport = this.network.transport(id, options.storage.snapshots);
    const node = new RaftNode<string, number>({ ...options, transport });
    return { node, machine, storage: options.storage, transitions };
  }

  /**
   * Stops node `id` and starts a new incarnation of it from what its storage holds (as after a crash: memory
   * storage is durable at once), with a new state machine.
   */
  async restart(id: NodeId): Promise<TestNode> {
    const { node, storage } = this.node(id);
    if (!(storage instanceof MemoryStorage)) throw new Error(`node ${id}: restart needs memory storage`);
    await node.stop();
    this.network.detach(id);
    const restarted = this.#create(id, new MemoryStorage(storage.durable, storage.snapshots));
    this.nodes.set(id, restarted);
    await restarted.node.start();
    return restarted;
  }

  /** What node `id` holds durably: what a restart would load. */
  durable(id: NodeId): Durable<string> {
    const { storage } = this.node(id);
    if (!(storage instanceof MemoryStorage)) throw new Error(`node ${id}: no memory storage to look into`);
    return storage.durable;
  }

  node(id: NodeId): TestNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  async start(): Promise<void> {
    await Promise.all([...this.nodes.values()].map(({ node }) => node.start()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.nodes.values()].map(({ node }) => node.stop()));
  }

  /** Advances the manual clock by `ms` in 5 ms steps, letting messages and disk writes land after each. */
  async run(ms: number): Promise<void> {
    for (let elapsed = 0; elapsed < ms; elapsed += 5) {
      this.clock.advance(5);
      await settle();
    }
  }

  /** Runs until some node leads (one that `accept` takes, if given), for at most `ms` of clock time. */
  async leader(ms = 5_000, accept: (node: TestNode) => boolean = () => true): Promise<TestNode> {
    for (let elapsed = 0; elapsed < ms; elapsed += 50) {
      const leader = [...this.nodes.values()].find(
        (candidate) => candidate.node.status().role === 'leader' && accept(candidate),
      );
      if (leader !== undefined) return leader;
      await this.run(50);
    }
    throw new Error(`no leader within ${ms} ms`);
  }
}

/** Lets every message already sent be delivered and handled (each delivery is one macrotask). */
export async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Runs the cluster's clock while `promise` is pending (at most `ms`), then returns it. */
export async function during<T>(cluster: TestCluster, promise: Promise<T>, ms = 1_000): Promise<T> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let elapsed = 0; !done && elapsed < ms; elapsed += 5) await cluster.run(5);
  return promise;
}
