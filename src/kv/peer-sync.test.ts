/** PeerSync: the transport's peers follow the configuration and the address book. */
import { describe, expect, it } from 'vitest';
import type { Membership, NodeId } from '../core/index.js';
import type { Address } from './address.js';
import { AddressBook } from './address-book.js';
import { PeerSync } from './peer-sync.js';

class Directory {
  readonly peers = new Map<NodeId, string>();
  setPeer(id: NodeId, address: Address): void {
    this.peers.set(id, `${address.host}:${address.port}`);
  }
  removePeer(id: NodeId): void {
    this.peers.delete(id);
  }
  get members(): NodeId[] {
    return [...this.peers.keys()];
  }
}

const at = (port: number) => ({
  raft: { host: '127.0.0.1', port },
  http: { host: '127.0.0.1', port: port + 1000 },
});
const m = (voters: NodeId[], learners: NodeId[] = [], outgoing?: NodeId[]): Membership => ({
  voters,
  learners,
  ...(outgoing !== undefined && { outgoing }),
});

function setUp(routes: Record<NodeId, Address> = {}) {
  const directory = new Directory();
  const book = new AddressBook();
  const lines: string[] = [];
  const reachable: Map<NodeId, string>[] = [];
  const sync = new PeerSync(
    'a',
    directory,
    book,
    { b: at(7002), c: at(7003) },
    routes,
    (line) => lines.push(line),
    (members) =>
      reachable.push(new Map([...members].map(([id, m]) => [id, `${m.raft.host}:${m.raft.port}`]))),
  );
  return { directory, book, lines, sync, reachable };
}

describe('PeerSync', () => {
  it('takes the members of the configuration, but itself, at their seeds', () => {
    const { directory, sync } = setUp();
    const three = m(['a', 'b', 'c']);
    sync.membershipChanged({ current: three, committed: three });
    expect(Object.fromEntries(directory.peers)).toEqual({ b: '127.0.0.1:7002', c: '127.0.0.1:7003' });
  });

  it('reaches a new learner once the book has its address, and prefers the book to the seeds', () => {
    const { directory, book, lines, sync } = setUp();
    const grown = m(['a', 'b', 'c'], ['d']);
    sync.membershipChanged({ current: grown, committed: m(['a', 'b', 'c']) });
    expect(directory.members).not.toContain('d');
    expect(lines).toEqual(['member d has no known address yet: it cannot be reached until one is recorded']);
    book.record('d', { raft: '127.0.0.1:7004', http: '127.0.0.1:8004' });
    book.record('b', { raft: '10.0.0.2:7002', http: '10.0.0.2:8002' });
    sync.sync();
    expect(Object.fromEntries(directory.peers)).toEqual({
      b: '10.0.0.2:7002',
      c: '127.0.0.1:7003',
      d: '127.0.0.1:7004',
    });
  });

  it('cuts a removed member off only once its removal is committed', () => {
    const { directory, sync } = setUp();
    const three = m(['a', 'b', 'c']);
    const joint = m(['a', 'b'], [], ['a', 'b', 'c']);
    const two = m(['a', 'b']);
    sync.membershipChanged({ current: joint, committed: three });
    sync.membershipChanged({ current: two, committed: three });
    expect(directory.members.sort()).toEqual(['b', 'c']);
    sync.membershipChanged({ current: two, committed: two });
    expect(directory.members).toEqual(['b']);
  });

  it('dials a member at its route whatever the book says, and keeps the book for everything else', () => {
    const { directory, book, sync, reachable } = setUp({
      b: { host: '127.0.0.1', port: 9002 },
      e: { host: '127.0.0.1', port: 9005 },
    });
    const grown = m(['a', 'b', 'c'], ['d', 'e']);
    book.record('b', { raft: '10.0.0.2:7002', http: '10.0.0.2:8002' });
    book.record('d', { raft: '10.0.0.4:7004', http: '10.0.0.4:8004' });
    sync.membershipChanged({ current: grown, committed: grown });
    // b: the route over the book; c: its seed; d: the book; e: only a route, and no address known.
    expect(Object.fromEntries(directory.peers)).toEqual({
      b: '127.0.0.1:9002',
      c: '127.0.0.1:7003',
      d: '10.0.0.4:7004',
      e: '127.0.0.1:9005',
    });
    expect(sync.addressOf('b')?.raft).toEqual({ host: '10.0.0.2', port: 7002 });
    // What peers.json keeps is where members listen, never a route.
    expect(Object.fromEntries(reachable.at(-1)!)).toEqual({
      b: '10.0.0.2:7002',
      c: '127.0.0.1:7003',
      d: '10.0.0.4:7004',
    });
  });
});
