import { describe, expect, it } from 'vitest';
import type { InstallSnapshot, Message } from '../../core/index.js';
import { jsonCodec } from '../binary.js';
import { MemoryNetwork } from './memory.js';
import type { Transport } from './transport.js';

type Command = { readonly op: string };

function vote(from: string, to: string, lastLogTerm = 0): Message<Command> {
  return { type: 'RequestVote', term: 2, from, to, lastLogIndex: 0, lastLogTerm, transfer: false };
}

function inbox(transport: Transport<Command>): Message<Command>[] {
  const received: Message<Command>[] = [];
  transport.onMessage((message) => received.push(message));
  return received;
}

/** Lets every pending delivery (one macrotask each) happen. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

async function cluster(network: MemoryNetwork<Command>, ids: string[]) {
  const nodes = ids.map((id) => network.transport(id));
  await Promise.all(nodes.map((node) => node.start()));
  return { nodes, inboxes: nodes.map(inbox) };
}

describe('MemoryNetwork', () => {
  it('delivers to the addressee, later, as a copy', async () => {
    const network = new MemoryNetwork<Command>();
    const { nodes, inboxes } = await cluster(network, ['a', 'b', 'c']);
    const append: Message<Command> = {
      type: 'AppendEntries',
      term: 1,
      from: 'a',
      to: 'b',
      prevLogIndex: 0,
      prevLogTerm: 0,
      leaderCommit: 0,
      round: 0,
      entries: [{ index: 1, term: 1, kind: 'command', command: { op: 'x' } }],
    };
    nodes[0]!.send(append);
    expect(inboxes[1]).toEqual([]);
    await settle();
    expect(inboxes[1]).toEqual([append]);
    expect(inboxes[1]![0]).not.toBe(append);
    expect(inboxes[2]).toEqual([]);
    expect(network.stats).toEqual({ delivered: 1, dropped: 0, rejected: 0 });
  });

  it('round-trips through the wire codec when given one', async () => {
    const network = new MemoryNetwork<Command>({ codec: jsonCodec() });
    const { nodes, inboxes } = await cluster(network, ['a', 'b']);
    nodes[0]!.send(vote('a', 'b'));
    nodes[0]!.send(vote('a', 'b', 3));
    await settle();
    expect(inboxes[1]).toEqual([vote('a', 'b')]);
    expect(network.stats).toMatchObject({ delivered: 1, rejected: 1 });
  });

  it('carries an InstallSnapshot whole, its data as is, also through the wire codec', async () => {
    const network = new MemoryNetwork<Command>({ codec: jsonCodec() });
    const { nodes, inboxes } = await cluster(network, ['a', 'b']);
    const data = { kind: 'snapshot-ref', name: 'snap-1', bytes: 3, crc32: 42 };
    const install: InstallSnapshot = {
      type: 'InstallSnapshot',
      term: 2,
      from: 'a',
      to: 'b',
      round: 1,
      snapshot: { meta: { index: 9, term: 2, membership: { voters: ['a', 'b'], learners: [] } }, data },
    };
    nodes[0]!.send(install);
    await settle();
    expect(inboxes[1]).toEqual([install]);
    expect((inboxes[1]![0] as InstallSnapshot).snapshot.data).toBe(data);
  });

  it('rejects a message whose sender is not the transport sending it', async () => {
    const lines: string[] = [];
    const network = new MemoryNetwork<Command>({ logger: (line) => lines.push(line) });
    const { nodes, inboxes } = await cluster(network, ['a', 'b', 'c']);
    nodes[0]!.send(vote('c', 'b'));
    await settle();
    expect(inboxes[1]).toEqual([]);
    expect(network.stats.rejected).toBe(1);
    expect(lines.join('\n')).toMatch(/claiming to be from "c"/);
  });

  it('drops across cut links and to or from stopped nodes', async () => {
    const network = new MemoryNetwork<Command>();
    const { nodes, inboxes } = await cluster(network, ['a', 'b', 'c']);
    network.cut('a', 'b');
    nodes[0]!.send(vote('a', 'b'));
    nodes[1]!.send(vote('b', 'a'));
    await settle();
    expect(inboxes[1]).toEqual([]);
    expect(inboxes[0]).toEqual([vote('b', 'a')]);

    network.heal();
    network.isolate('c');
    nodes[0]!.send(vote('a', 'c'));
    nodes[2]!.send(vote('c', 'a'));
    await settle();
    expect(inboxes[2]).toEqual([]);
    expect(inboxes[0]).toHaveLength(1);

    network.restore('c', 'a');
    await nodes[1]!.stop();
    nodes[1]!.send(vote('b', 'a'));
    nodes[2]!.send(vote('c', 'a'));
    nodes[0]!.send(vote('a', 'b'));
    nodes[0]!.send(vote('a', 'nobody'));
    await settle();
    expect(inboxes[0]).toEqual([vote('b', 'a'), vote('c', 'a')]);
    expect(network.stats).toEqual({ delivered: 2, dropped: 6, rejected: 0 });
  });

  it('attaches each node id once', () => {
    const network = new MemoryNetwork<Command>();
    network.transport('a');
    expect(() => network.transport('a')).toThrow(/already attached/);
  });
});
