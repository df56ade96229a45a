/**
 * One history's world: the simulated cluster, the services on its nodes, the safety checker watching both,
 * and what the history did to the cluster's membership: the nodes that joined and the members it removed,
 * which are never added again.
 */
import type { Membership, NodeId } from '../src/core/index.js';
import {
  Cluster,
  type ClusterObserver,
  type Envelope,
  Random,
  type Reducer,
} from '../src/runtime/simulator/index.js';
import { SafetyChecker } from './checker.js';
import { MAX_JOINS } from './membership.js';
import { combine } from './observers.js';
import { type Command, nodeConfig, nodeIds, type Scenario } from './scenario.js';
import { Services } from './service.js';

export interface WorldOptions {
  /** The reducer under test; the real core by default. */
  readonly reducer?: Reducer<Command>;
  /** Sees everything before the services and the checker do (replay prints with it). */
  readonly observer?: ClusterObserver<Command>;
  /** Which membership changes the history makes: all it asks for (the default), or none (see liveness.ts). */
  readonly changes?: Changes;
}

export type Changes = 'all' | 'none';

export class World {
  readonly cluster: Cluster<Command>;
  readonly services = new Services();
  readonly checker: SafetyChecker;
  /** The nodes that joined, with the voters each was started with. */
  readonly #startedWith = new Map<NodeId, readonly NodeId[]>();
  readonly #removed = new Set<NodeId>();
  readonly #size: number;
  readonly changes: Changes;
  /** Messages taken out of the network by `hold`, in the order they were held. */
  readonly held: Envelope<Command>[] = [];
  /** Timers keep time (no election timeout fires early): lease reads rest on it (scenario.ts). */
  readonly timersKeepTime: boolean;

  constructor(scenario: Scenario, options: WorldOptions = {}) {
    this.#size = scenario.size;
    this.changes = options.changes ?? 'all';
    this.timersKeepTime = scenario.config.leaseReads === true;
    const ids = nodeIds(scenario.size);
    this.checker = new SafetyChecker(ids);
    const observers = [options.observer, this.services, this.checker].filter((o) => o !== undefined);
    const delays = new Random(scenario.config.seed);
    this.cluster = new Cluster<Command>({
      ids,
      config: (id, incarnation) => nodeConfig(scenario, id, incarnation, this.#startedWith.get(id)),
      observer: combine(...observers),
      delays: () => [delays.int(1, scenario.config.maxDelay + 1)],
      // Byte counters are of no interest here, and measuring them would cost a JSON text per message.
      messageSize: () => 0,
      // Fault injection is the history's job: a crash must not take back what a node already sent.
      crashKeepsInFlight: true,
      ...(options.reducer && { reducer: options.reducer }),
    });
  }

  /**
   * Up to `count` nodes that `m` may add: nodes that joined and are not members (nor were removed), then new
   * ones, started with `m`'s voters, while fewer than MAX_JOINS have joined.
   */
  newcomers(m: Membership, count: number): NodeId[] {
    const members = new Set([...m.voters, ...m.learners]);
    const found = [...this.#startedWith.keys()].filter((id) => !members.has(id) && !this.#removed.has(id));
    while (found.length < count && this.#startedWith.size < MAX_JOINS) {
      const id = nodeIds(this.#size + this.#startedWith.size + 1).at(-1)!;
      this.#startedWith.set(id, m.voters);
      this.cluster.addNode(id);
      found.push(id);
    }
    return found.slice(0, count);
  }

  removed(ids: readonly NodeId[]): void {
    for (const id of ids) this.#removed.add(id);
  }
}
