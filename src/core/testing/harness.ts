/**
 * A tiny synchronous cluster for the core's own tests: nodes, a FIFO of messages, and durable state rebuilt
 * from persist effects. No clock: tests fire timers by hand. The full simulator (virtual time, faults,
 * crashes) lives in src/runtime; this harness exists so that core tests read like the paper.
 */
import { type Config, type Durable, type Effect, type Entry, init, type Message, type RaftState, step } from '../index.js';

export interface HarnessNode<C> {
  state: RaftState<C>;
  durable: { hardState: Durable<C>['hardState']; entries: Entry<C>[] };
  applied: Entry<C>[];
  timers: Map<string, number>;
  effects: Effect<C>[];
}

export function config(id: string, voters: readonly string[], extra: Partial<Config> = {}): Config {
  return { id, voters, electionTimeout: [150, 300], heartbeatInterval: 50, seed: voters.indexOf(id) + 1, ...extra };
}

export class Harness<C> {
  readonly nodes = new Map<string, HarnessNode<C>>();
  readonly queue: Message<C>[] = [];
  /** Return false to drop a message. */
  filter: (message: Message<C>) => boolean = () => true;
  delivered = 0;

  constructor(
    readonly ids: readonly string[],
    extra: Partial<Config> = {},
    durables: Record<string, Durable<C>> = {},
  ) {
    for (const id of ids) {
      const durable = durables[id];
      const [state, effects] = init<C>(config(id, ids, extra), durable);
      const node: HarnessNode<C> = {
        state,
        durable: { hardState: durable?.hardState ?? { term: 0, votedFor: null }, entries: [...(durable?.entries ?? [])] },
        applied: [],
        timers: new Map(),
        effects: [],
      };
      this.nodes.set(id, node);
      this.run(node, effects);
    }
  }

  node(id: string): HarnessNode<C> {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  private run(node: HarnessNode<C>, effects: readonly Effect<C>[]): void {
    node.effects = [...effects];
    for (const effect of effects) {
      switch (effect.type) {
        case 'setTimer':
          node.timers.set(effect.timer, effect.delay);
          break;
        case 'cancelTimer':
          node.timers.delete(effect.timer);
          break;
        case 'persist': {
          if (effect.hardState) node.durable.hardState = effect.hardState;
          if (effect.truncateFrom !== undefined) node.durable.entries.length = effect.truncateFrom - 1;
          for (const entry of effect.entries ?? []) {
            if (entry.index !== node.durable.entries.length + 1) throw new Error('persist gap');
            node.durable.entries.push(entry);
          }
          break;
        }
        case 'send':
          this.queue.push(effect.message);
          break;
        case 'apply':
          node.applied.push(...effect.entries);
          break;
      }
    }
  }

  step(id: string, event: Parameters<typeof step<C>>[1]): Effect<C>[] {
    const node = this.node(id);
    const [state, effects] = step(node.state, event);
    node.state = state;
    this.run(node, effects);
    return [...effects];
  }

  fire(id: string, timer: string): Effect<C>[] {
    return this.step(id, { type: 'timeout', timer });
  }

  propose(id: string, command: C): Effect<C>[] {
    return this.step(id, { type: 'propose', command });
  }

  /** Delivers queued messages (and those they cause) until the queue is empty or `limit` is reached. */
  deliverAll(limit = 100_000): number {
    let count = 0;
    while (this.queue.length > 0 && count < limit) {
      const message = this.queue.shift()!;
      count++;
      if (!this.filter(message) || !this.nodes.has(message.to)) continue;
      this.delivered++;
      this.step(message.to, { type: 'receive', message });
    }
    return count;
  }

  /** Times out `id`'s election and lets the cluster settle. */
  elect(id: string): void {
    this.fire(id, 'election');
    this.deliverAll();
  }
}

export function sends<C>(effects: readonly Effect<C>[]): Message<C>[] {
  return effects.flatMap((effect) => (effect.type === 'send' ? [effect.message] : []));
}

export function entry<C>(index: number, term: number, command?: C): Entry<C> {
  return command === undefined ? { index, term, kind: 'noop' } : { index, term, kind: 'command', command };
}
