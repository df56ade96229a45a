import { describe, expect, it } from 'vitest';
import type { InstallSnapshot, Message } from '../../core/index.js';
import { jsonCodec } from '../binary.js';
import { MemorySnapshotStore } from '../storage/index.js';
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

function installSnapshot(to: string, data: unknown): InstallSnapshot {
  return {
    type: 'InstallSnapshot',
    term: 2,
    from: 'a',
    to,
    round: 1,
    snapshot: { meta: { index: 9, term: 2, membership: { voters: ['a', 'b', 'c'], learners: [] } }, data },
  };
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
    expect(network.stats).toEqual({ delivered: 1, dropped: 0, rejected: 0, reconnections: 0 });
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

  it('copies snapshot data from the sender’s store into the receiver’s, and delivers it with the receiver’s ref', async () => {
    const network = new MemoryNetwork<Command>({ codec: jsonCodec() });
    const [storeA, storeB, storeC] = [
      new MemorySnapshotStore(),
      new MemorySnapshotStore(),
      new MemorySnapshotStore(),
    ];
    const a = network.transport('a', storeA);
    const b = network.transport('b', storeB);
    const c = network.transport('c', storeC);
    await Promise.all([a.start(), b.start(), c.start()]);
    const [inboxB, inboxC] = [inbox(b), inbox(c)];
    const writer = storeA.create();
    await writer.write(new TextEncoder().encode('the state '));
    await writer.write(new TextEncoder().encode('through 9'));
    const install = installSnapshot('b', await writer.finish());
    a.send(install);
    await settle();
    expect(inboxB).toHaveLength(1);
    const received = inboxB[0] as InstallSnapshot;
    expect({ ...received, snapshot: { ...received.snapshot, data: null } }).toEqual({
      ...install,
      snapshot: { ...install.snapshot, data: null },
    });
    expect(storeB.size).toBe(1);
    const chunks: Uint8Array[] = [];
    for await (const chunk of storeB.read(received.snapshot)) chunks.push(chunk);
    expect(Buffer.concat(chunks).toString()).toBe('the state through 9');

    // Data the sender no longer holds is not copied: the message is dropped and nothing is left behind.
    a.send(installSnapshot('c', { kind: 'snapshot-ref', name: 'gone', bytes: 1, crc32: 0 }));
    // Across a cut link, nothing arrives either.
    network.cut('a', 'c');
    a.send({ ...install, to: 'c' });
    await settle();
    expect(inboxC).toEqual([]);
    expect(storeC.size).toBe(0);
    expect(network.stats).toEqual({ delivered: 1, dropped: 2, rejected: 0, reconnections: 0 });
  });

  it('refuses snapshot data between a node with a snapshot store and one without, and lets a detached node attach again', async () => {
    const network = new MemoryNetwork<Command>();
    const store = new MemorySnapshotStore();
    const a = network.transport('a', store);
    const b = network.transport('b');
    await Promise.all([a.start(), b.start()]);
    const inboxB = inbox(b);
    const writer = store.create();
    await writer.write(new Uint8Array([1]));
    a.send(installSnapshot('b', await writer.finish()));
    await settle();
    expect(inboxB).toEqual([]);
    expect(network.stats.rejected).toBe(1);
    network.detach('b');
    const again = network.transport('b', new MemorySnapshotStore());
    await again.start();
    const inboxAgain = inbox(again);
    a.send(vote('a', 'b'));
    await settle();
    expect(inboxAgain).toEqual([vote('a', 'b')]);
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
    expect(network.stats).toEqual({ delivered: 2, dropped: 6, rejected: 0, reconnections: 0 });
  });

  it('attaches each node id once', () => {
    const network = new MemoryNetwork<Command>();
    network.transport('a');
    expect(() => network.transport('a')).toThrow(/already attached/);
  });
});
