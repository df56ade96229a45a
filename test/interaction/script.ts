/**
 * Scripted interaction tests, in the style of etcd-io/raft's `testdata/*.txt`: a script of events in, every
 * effect printed as text, compared with the expected text written under each command. They read like the
 * thesis, and a change in behaviour shows up as a diff of the transcript.
 *
 * A script is a list of blocks:
 *
 *     # a comment
 *     command arg arg key=value
 *     ----
 *     expected output
 *     <blank line>
 *
 * Commands (nodes are driven by hand: no clock runs, timers fire only when a script says so):
 *   cluster a b c [learners=d] [preVote=false] [checkQuorum=false] [leaseReads=true]   new cluster of the real core
 *   add d                                  start a new, empty node (the cluster's voters as its config)
 *   fire a timer                           a timer of `a` fires (election, heartbeat, checkQuorum, transfer)
 *   propose a x | read a r1 | transfer a b | snapshot a data [index=N] | change a voters=a,b learners=c
 *   deliver [n=N] [only=a,b]               delivers messages in flight in arrival order, and those they cause,
 *                                          until none is left (or N were delivered); `only`: to those nodes,
 *                                          the others' messages are dropped
 *   drop                                   loses every message in flight
 *   isolate a | heal | partition a b / c   cuts links
 *   crash a | restart a
 *   status [a ...]                         one line per node
 *   log a                                  the node's log
 *
 * Run with REWRITE=1 to write the actual output into the scripts (then read the diff).
 */

import { formatEffect, formatMessage, formatState } from '../../properties/format.js';
import { type Config, type Effect, logOf, type NodeId } from '../../src/core/index.js';
import { Cluster } from '../../src/runtime/simulator/index.js';

type Cmd = string;

export interface Block {
  /** The comment lines before the command, kept when a script is rewritten. */
  readonly comments: readonly string[];
  readonly command: string;
  readonly expected: string;
}

export function parseScript(text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  let comments: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '' || line.startsWith('#')) {
      if (line.startsWith('#')) comments.push(line);
      i++;
      continue;
    }
    if (lines[i + 1] !== '----') throw new Error(`line ${i + 2}: expected ---- after "${line}"`);
    i += 2;
    const expected: string[] = [];
    while (i < lines.length && lines[i] !== '') expected.push(lines[i++]!);
    blocks.push({ comments, command: line, expected: expected.join('\n') });
    comments = [];
  }
  return blocks;
}

/** A script with each command's output replaced by `actual`. */
export function formatScript(blocks: readonly (Block & { readonly actual: string })[]): string {
  return blocks
    .map(({ comments, command, actual }) => {
      const head = comments.length === 0 ? '' : `${comments.join('\n')}\n`;
      return `${head}${command}\n----\n${actual}\n`;
    })
    .join('\n');
}

function keyValues(args: readonly string[]): [string[], Map<string, string>] {
  const positional: string[] = [];
  const named = new Map<string, string>();
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq > 0) named.set(arg.slice(0, eq), arg.slice(eq + 1));
    else positional.push(arg);
  }
  return [positional, named];
}

const list = (value: string | undefined): string[] =>
  value === undefined || value === '' ? [] : value.split(',');

/** Drives a Cluster by script commands and prints what happens. */
export class ScriptRunner {
  #cluster: Cluster<Cmd> | undefined;
  #voters: readonly NodeId[] = [];
  #extra: Partial<Config> = {};
  #lines: string[] = [];
  /** Transitions seen since the last command, with their effects. */
  #recorded: { id: NodeId; effects: readonly Effect<Cmd>[] }[] = [];

  run(command: string): string {
    this.#lines = [];
    const [name, ...args] = command.trim().split(/\s+/);
    const [positional, named] = keyValues(args);
    this.#execute(name!, positional, named);
    return this.#lines.length === 0 ? 'ok' : this.#lines.join('\n');
  }

  get #c(): Cluster<Cmd> {
    if (this.#cluster === undefined) throw new Error('no cluster yet: start with "cluster a b c"');
    return this.#cluster;
  }

  #execute(name: string, positional: string[], named: Map<string, string>): void {
    const [a, b] = positional;
    switch (name) {
      case 'cluster':
        return this.#newCluster(positional, named);
      case 'add':
        return this.#stepped(() => this.#c.addNode(a!));
      case 'fire':
        if (!this.#c.node(a!).timers.has(b!)) return void this.#lines.push(`${a}: timer ${b} is not armed`);
        return this.#stepped(() => this.#c.fire(a!, b!));
      case 'propose':
        return this.#stepped(() => this.#c.propose(a!, b!));
      case 'read':
        return this.#stepped(() => this.#c.step(a!, { type: 'read', id: b! }));
      case 'transfer':
        return this.#stepped(() => this.#c.step(a!, { type: 'transferLeadership', to: b! }));
      case 'snapshot': {
        const index = named.has('index') ? Number(named.get('index')) : undefined;
        return this.#stepped(() => this.#c.snapshot(a!, b ?? null, index));
      }
      case 'change':
        return this.#stepped(() =>
          this.#c.step(a!, {
            type: 'changeMembership',
            voters: list(named.get('voters')),
            learners: list(named.get('learners')),
          }),
        );
      case 'deliver':
        return this.#deliver(named);
      case 'drop':
        for (let next = this.#c.nextToArrive(); next !== undefined; next = this.#c.nextToArrive()) {
          this.#c.drop(next);
        }
        return;
      case 'isolate':
        return this.#c.setConnected(a!, false);
      case 'heal':
        return this.#c.heal();
      case 'partition': {
        const groups = positional
          .join(' ')
          .split('/')
          .map((group) => group.trim().split(/\s+/));
        return this.#c.partition(groups);
      }
      case 'crash':
        return this.#c.crash(a!);
      case 'restart':
        return this.#stepped(() => this.#c.restart(a!));
      case 'status':
        for (const id of positional.length > 0 ? positional : this.#c.ids) {
          const state = this.#c.node(id).state;
          this.#lines.push(`${id}: ${state === null ? 'down' : formatState(state)}`);
        }
        return;
      case 'log': {
        const state = this.#c.node(a!).state;
        if (state === null) return void this.#lines.push(`${a}: down`);
        const log = logOf(state);
        this.#lines.push(`${a}: base=${log.firstIndex - 1}`);
        for (const entry of log.slice(log.firstIndex)) this.#lines.push(`  ${JSON.stringify(entry)}`);
        return;
      }
      default:
        throw new Error(`unknown command ${name}`);
    }
  }

  #newCluster(ids: string[], named: Map<string, string>): void {
    this.#voters = ids;
    this.#extra = {
      learners: list(named.get('learners')),
      ...(named.has('preVote') && { preVote: named.get('preVote') === 'true' }),
      ...(named.has('checkQuorum') && { checkQuorum: named.get('checkQuorum') === 'true' }),
      ...(named.has('leaseReads') && { leaseReads: named.get('leaseReads') === 'true' }),
    };
    const all = [...ids, ...list(named.get('learners'))];
    const recorded: { id: NodeId; effects: readonly Effect<Cmd>[] }[] = [];
    this.#cluster = undefined;
    this.#cluster = new Cluster<Cmd>({
      ids: all,
      config: (id, incarnation) => ({
        id,
        voters: this.#voters,
        electionTimeout: [100, 200],
        heartbeatInterval: 20,
        seed: all.indexOf(id) + 1 + incarnation * 100,
        ...this.#extra,
      }),
      observer: {
        transition: (node, _event, _before, _after, effects) => recorded.push({ id: node.id, effects }),
        restarted: (node, effects) => recorded.push({ id: node.id, effects }),
      },
    });
    this.#recorded = recorded;
    recorded.length = 0;
  }

  /** Runs one action and prints the effects of the transitions it caused. */
  #stepped(action: () => unknown): void {
    this.#recorded.length = 0;
    action();
    for (const { id: at, effects } of this.#recorded.splice(0)) this.#print(at, effects);
  }

  #deliver(named: Map<string, string>): void {
    const limit = named.has('n') ? Number(named.get('n')) : 10_000;
    const only = named.has('only') ? list(named.get('only')) : undefined;
    let delivered = 0;
    for (
      let next = this.#c.nextToArrive();
      next !== undefined && delivered < limit;
      next = this.#c.nextToArrive()
    ) {
      const { message } = next;
      if (only !== undefined && !only.includes(message.to)) {
        this.#c.drop(next);
        continue;
      }
      delivered++;
      this.#recorded.length = 0;
      const arrived = this.#c.deliver(next);
      if (!arrived) {
        this.#lines.push(`${formatMessage(message)}: lost`);
        continue;
      }
      this.#lines.push(`> ${formatMessage(message)}`);
      for (const { id, effects } of this.#recorded.splice(0)) this.#print(id, effects, '  ');
    }
  }

  #print(id: NodeId, effects: readonly Effect<Cmd>[], indent = ''): void {
    for (const effect of effects) this.#lines.push(`${indent}${id}: ${formatEffect(effect)}`);
  }
}
