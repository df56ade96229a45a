/**
 * A cluster of RaftNodes in one process for tests: in-memory network and storage, and a manual clock so
 * elections happen when the test says. Messages still travel asynchronously (one macrotask each), so
 * `run` advances the clock in small steps and lets the event loop deliver what each step sent.
 */
import type { Config, Effect, Event, NodeId, RaftState } from '../../core/index.js';
import type { StateMachine } from '../../effects/apply/index.js';
import { MemoryStorage, type Storage } from '../../effects/storage/index.js';
import { ManualClock } from '../../effects/timers/index.js';
import { MemoryNetwork } from '../../effects/transport/index.js';
import { RaftNode, type RaftNodeOptions } from './node.js';

/** Records the commands it applies; each result is the index the command was applied at. */
export class CommandLog implements StateMachine<string, number> {
  applied: string[] = [];

  apply(command: string, index: number): number {
    this.applied.push(command);
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
  readonly storage: MemoryStorage<string>;
  readonly transitions: Transition[];
}

export function configFor(id: NodeId, voters: readonly NodeId[], seed = 1): Config {
  return { id, voters, electionTimeout: [150, 300], heartbeatInterval: 50, seed };
}

export class TestCluster {
  readonly clock = new ManualClock();
  readonly network = new MemoryNetwork<string>();
  readonly nodes = new Map<NodeId, TestNode>();

  constructor(
    readonly ids: readonly NodeId[],
    extra: (
      id: NodeId,
    ) => Partial<RaftNodeOptions<string, number>> & { storage?: Storage<string> } = () => ({}),
  ) {
    ids.forEach((id, position) => {
      const machine = new CommandLog();
      const storage = new MemoryStorage<string>();
      const transitions: Transition[] = [];
      const node = new RaftNode<string, number>({
        config: configFor(id, ids, position + 1),
        storage,
        transport: this.network.transport(id),
        stateMachine: machine,
        clock: this.clock,
        onTransition: (event, state, effects) => transitions.push({ event, state, effects }),
        ...extra(id),
      });
      this.nodes.set(id, { node, machine, storage, transitions });
    });
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

  /** Runs until some node leads, for at most `ms` of clock time. */
  async leader(ms = 5_000): Promise<TestNode> {
    for (let elapsed = 0; elapsed < ms; elapsed += 50) {
      const leader = [...this.nodes.values()].find(({ node }) => node.status().role === 'leader');
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
