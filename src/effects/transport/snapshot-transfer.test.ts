import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { InstallSnapshot, Message, Snapshot } from '../../core/index.js';
import {
  isSnapshotRef,
  type SnapshotRef,
  type SnapshotStore,
  type SnapshotWriter,
} from '../snapshot-data.js';
import { frames, OnPathProxy, tlsRecords } from './on-path-proxy.js';
import { encodeOffer } from './snapshot-wire.js';
import { DEFAULT_SNAPSHOT_CHUNK_BYTES, type TcpTransportOptions } from './tcp.js';
import {
  type Command,
  closeAll,
  closeLater,
  codec,
  host,
  introduce,
  RawClient,
  secret,
  sleep,
  startNode,
  type TestNode,
  tlsOptions,
  vote,
  waitFor,
} from './test-support.js';

afterEach(closeAll);

const MiB = 1 << 20;
/** The size of the chunks `read` yields: more than a frame, so the sender must split them. */
const READ_CHUNK_BYTES = 256 * 1024;

interface TestStoreOptions {
  /** What each write waits for: a receiver slower than the network, so that backpressure must work. */
  readonly beforeWrite?: () => Promise<unknown>;
  /** `read` throws once it has yielded this many bytes. */
  readonly failReadAt?: number;
}

/** A snapshot store in memory that records how it is used: chunk sizes, aborts, and how far reads run ahead. */
class TestStore implements SnapshotStore {
  readonly writers: TestWriter[] = [];
  readonly blobs = new Map<string, Uint8Array>();
  /** Called before `read` yields a chunk, with the bytes it yielded so far. */
  onRead: (offset: number) => void = () => {};

  constructor(readonly options: TestStoreOptions = {}) {}

  put(data: Uint8Array): SnapshotRef {
    const name = `put-${this.blobs.size}`;
    this.blobs.set(name, data);
    return { kind: 'snapshot-ref', name, bytes: data.length, crc32: crc32(data) };
  }

  /** Bytes written so far, by every writer. */
  get written(): number {
    return this.writers.reduce((sum, writer) => sum + writer.written, 0);
  }

  create(): SnapshotWriter {
    const writer = new TestWriter(this, `received-${this.writers.length}`);
    this.writers.push(writer);
    return writer;
  }

  async release(ref: SnapshotRef): Promise<void> {
    this.blobs.delete(ref.name);
  }

  async *read(snapshot: Snapshot): AsyncIterable<Uint8Array> {
    const ref = snapshot.data as SnapshotRef;
    const data = this.blobs.get(ref.name);
    if (data === undefined) throw new Error(`no snapshot ${ref.name}`);
    const { failReadAt = Number.POSITIVE_INFINITY } = this.options;
    for (let offset = 0; offset < data.length; offset += READ_CHUNK_BYTES) {
      if (offset >= failReadAt) throw new Error('disk on fire');
      this.onRead(offset);
      yield data.subarray(offset, offset + READ_CHUNK_BYTES);
    }
  }
}

class TestWriter implements SnapshotWriter {
  state: 'open' | 'finished' | 'aborted' = 'open';
  written = 0;
  largestChunk = 0;
  private readonly chunks: Uint8Array[] = [];

  constructor(
    private readonly store: TestStore,
    private readonly name: string,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    if (this.state !== 'open') throw new Error(`write to a ${this.state} writer`);
    this.chunks.push(chunk.slice());
    this.written += chunk.length;
    this.largestChunk = Math.max(this.largestChunk, chunk.length);
    await this.store.options.beforeWrite?.();
  }

  async finish(): Promise<SnapshotRef> {
    if (this.state !== 'open') throw new Error(`finish of a ${this.state} writer`);
    this.state = 'finished';
    const data = Buffer.concat(this.chunks);
    this.store.blobs.set(this.name, data);
    return { kind: 'snapshot-ref', name: this.name, bytes: data.length, crc32: crc32(data) };
  }

  async abort(): Promise<void> {
    this.state = 'aborted';
    this.store.blobs.delete(this.name);
  }
}

function installSnapshot(from: string, to: string, index: number, data: unknown): InstallSnapshot {
  const membership = { voters: ['a', 'b', 'c'], learners: ['d'] };
  return {
    type: 'InstallSnapshot',
    term: 3,
    from,
    to,
    round: 5,
    snapshot: { meta: { index, term: 2, membership }, data },
  };
}

function heartbeat(from: string, to: string, sequence: number): Message<Command> {
  return {
    type: 'AppendEntries',
    term: 3,
    from,
    to,
    prevLogIndex: 0,
    prevLogTerm: 0,
    leaderCommit: sequence,
    round: sequence,
    entries: [],
  };
}

const snapshotsIn = (node: TestNode) =>
  node.inbox.filter((m): m is InstallSnapshot => m.type === 'InstallSnapshot');

/** The one snapshot `node` received: its message, as sent but for the data, and the bytes its ref reads back. */
function receivedSnapshot(node: TestNode, store: TestStore, sent: InstallSnapshot): Uint8Array {
  const received = snapshotsIn(node);
  expect(received).toHaveLength(1);
  const { data } = received[0]!.snapshot;
  expect(received[0]).toEqual({ ...sent, snapshot: { ...sent.snapshot, data } });
  if (!isSnapshotRef(data)) throw new Error(`not a ref: ${JSON.stringify(data)}`);
  const sentRef = sent.snapshot.data as SnapshotRef;
  expect(data).toMatchObject({ bytes: sentRef.bytes, crc32: sentRef.crc32 });
  return store.blobs.get(data.name)!;
}

/** The follower's answer to a snapshot: it has stored and restored it. */
function snapshotAnswer(from: string, to: string, index: number): Message<Command> {
  return { type: 'InstallSnapshotResponse', term: 3, from, to, index, round: 5 };
}

async function startSnapshotPair(
  receiverOptions: TestStoreOptions = {},
  receiver: Partial<TcpTransportOptions<Command>> = {},
  sender: Partial<TcpTransportOptions<Command>> = {},
) {
  const sending = new TestStore();
  const receiving = new TestStore(receiverOptions);
  const a = await startNode('a', { snapshots: sending, ...sender });
  const b = await startNode('b', { snapshots: receiving, ...receiver });
  introduce(a, b);
  return { a, b, sending, receiving };
}

describe('snapshot transfers over TCP', () => {
  it('carry several MiB whole, as one message, without holding up heartbeats', async () => {
    const { a, b, sending, receiving } = await startSnapshotPair({ beforeWrite: () => sleep(4) });
    const c = await startNode('c');
    introduce(a, b, c);
    const size = 8 * MiB;
    const data = randomBytes(size);
    const message = installSnapshot('a', 'b', 40, sending.put(data));

    // Heartbeats to b and to c, every 10 ms while the snapshot is on its way; when each arrives.
    const sentAt = new Map<number, number>();
    const arrivals: { to: string; latency: number; during: boolean }[] = [];
    for (const node of [b, c]) {
      node.transport.onMessage((m) => {
        if (m.type !== 'AppendEntries') return;
        const during = snapshotsIn(b).length === 0;
        arrivals.push({ to: node.id, latency: Date.now() - sentAt.get(m.round)!, during });
      });
    }
    a.transport.send(message);
    a.transport.send(message); // a copy, while the first is on its way: dropped
    for (let sequence = 1; snapshotsIn(b).length === 0 && sequence <= 500; sequence++) {
      sentAt.set(sequence, Date.now());
      a.transport.send(heartbeat('a', 'b', sequence));
      a.transport.send(heartbeat('a', 'c', sequence));
      await sleep(10);
    }
    await waitFor(() => a.transport.stats.snapshotsSent === 1, 'the receiver to confirm the snapshot');

    expect(Buffer.from(receivedSnapshot(b, receiving, message)).equals(data)).toBe(true);
    expect(receiving.writers.map((writer) => writer.state)).toEqual(['finished']);
    expect(receiving.writers[0]!.largestChunk).toBeLessThanOrEqual(DEFAULT_SNAPSHOT_CHUNK_BYTES);
    for (const peer of ['b', 'c']) {
      const during = arrivals.filter((arrival) => arrival.to === peer && arrival.during);
      expect(during.length).toBeGreaterThanOrEqual(10);
      expect(Math.max(...during.map((arrival) => arrival.latency))).toBeLessThan(250);
    }
    expect(a.transport.stats).toMatchObject({
      snapshotsSent: 1,
      snapshotBytesSent: size,
      snapshotsFailed: 0,
    });
    expect(b.transport.stats).toMatchObject({
      snapshotsReceived: 1,
      snapshotBytesReceived: size,
      snapshotsFailed: 0,
    });
  });

  it('read no further ahead than the socket takes, nor hold more than a frame on the receiving side', async () => {
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { a, b, sending, receiving } = await startSnapshotPair({ beforeWrite: () => gate });
    const size = 32 * MiB;
    const data = randomBytes(size);
    let read = 0;
    sending.onRead = (offset) => (read = offset);
    const message = installSnapshot('a', 'b', 40, sending.put(data));
    a.transport.send(message);
    // The receiver's store takes nothing: once the socket buffers are full, the sender must stop reading.
    let previous = -1;
    for (let polls = 0; read !== previous && polls < 20; polls++) {
      previous = read;
      await sleep(50);
    }
    // A sender that ignored backpressure would have read it all at once; this one stopped where the socket
    // buffers (a few MiB on loopback, in the kernels) are full.
    expect(read).toBe(previous);
    expect(read).toBeLessThan(size / 2);
    expect(receiving.written).toBeLessThanOrEqual(DEFAULT_SNAPSHOT_CHUNK_BYTES);
    open();
    await waitFor(() => snapshotsIn(b).length === 1, 'the snapshot');
    expect(Buffer.from(receivedSnapshot(b, receiving, message)).equals(data)).toBe(true);
    expect(receiving.writers[0]!.largestChunk).toBeLessThanOrEqual(DEFAULT_SNAPSHOT_CHUNK_BYTES);
  });

  it('carry an empty snapshot too', async () => {
    const { a, b, sending, receiving } = await startSnapshotPair();
    const message = installSnapshot('a', 'b', 40, sending.put(new Uint8Array(0)));
    a.transport.send(message);
    await waitFor(() => a.transport.stats.snapshotsSent === 1, 'the confirmation');
    expect(receivedSnapshot(b, receiving, message)).toHaveLength(0);
  });

  it('let one under way finish rather than start over for a newer snapshot, and drop an older one', async () => {
    // A transfer that took longer than the leader took to make a newer snapshot started over, without end.
    const { a, b, sending, receiving } = await startSnapshotPair({ beforeWrite: () => sleep(2) });
    const older = randomBytes(2 * MiB);
    const first = installSnapshot('a', 'b', 40, sending.put(older));
    const newer = randomBytes(MiB);
    const second = installSnapshot('a', 'b', 50, sending.put(newer));
    a.transport.send(first);
    await waitFor(() => receiving.written > 0, 'the first snapshot to be on its way');
    expect(a.transport.snapshotsInFlight).toBe(1);
    a.transport.send(second);
    a.transport.send(first);
    await waitFor(() => snapshotsIn(b).length === 1, 'the first snapshot');
    expect(Buffer.from(receivedSnapshot(b, receiving, first)).equals(older)).toBe(true);
    b.transport.send(snapshotAnswer('b', 'a', 40));
    await waitFor(() => a.transport.snapshotsInFlight === 0, 'the transfer to end, and its answer');
    // The core asks again for the newer one (its follower still lags): it goes now.
    a.transport.send(second);
    await waitFor(() => snapshotsIn(b).length === 2, 'the newer snapshot');
    expect(receiving.writers.map((writer) => writer.state)).toEqual(['finished', 'finished']);
    await waitFor(() => a.transport.stats.snapshotsSent === 2, 'the confirmation');
    expect(a.transport.stats.snapshotsFailed).toBe(0);
  });

  it('count one delivered whole as in flight until its peer answers it (stored and restored), or for a bound', async () => {
    // The receiver confirms the bytes at once, and answers the leader only after storing and restoring them. A
    // leader that stopped counting at the bytes compacted meanwhile, found the answer below its log's start,
    // and sent another snapshot: a follower of a large state never caught up under writes.
    const { a, b, sending } = await startSnapshotPair({}, {}, { snapshotAnswerWaitMs: 400 });
    const first = installSnapshot('a', 'b', 40, sending.put(randomBytes(64 * 1024)));
    a.transport.send(first);
    await waitFor(() => a.transport.stats.snapshotsSent === 1, 'the confirmation of the bytes');
    // The core sends it again when the follower is silent (restoring it): the peer has it, the copy is dropped.
    a.transport.send(first);
    await sleep(100);
    expect(a.transport.snapshotsInFlight).toBe(1);
    expect(snapshotsIn(b)).toHaveLength(1);
    b.transport.send(snapshotAnswer('b', 'a', 40));
    await waitFor(() => a.transport.snapshotsInFlight === 0, 'the answer');
    // Unanswered (the follower died restoring, say), it stops counting after snapshotAnswerWaitMs.
    a.transport.send(installSnapshot('a', 'b', 50, sending.put(randomBytes(64 * 1024))));
    await waitFor(() => a.transport.stats.snapshotsSent === 2, 'the second confirmation');
    expect(a.transport.snapshotsInFlight).toBe(1);
    await waitFor(() => a.transport.snapshotsInFlight === 0, 'the wait for an answer to run out');
  });

  it('count one delivered whole no more once its peer connects anew (it may have restarted and lost it)', async () => {
    const { a, b, sending } = await startSnapshotPair({}, {}, { snapshotAnswerWaitMs: 60_000 });
    const message = installSnapshot('a', 'b', 40, sending.put(randomBytes(1024)));
    a.transport.send(message);
    await waitFor(() => a.transport.stats.snapshotsSent === 1, 'the confirmation of the bytes');
    expect(a.transport.snapshotsInFlight).toBe(1);
    // b dies before storing it, and comes back on its port with nothing: its first message reconnects.
    const port = b.transport.port;
    await b.transport.stop();
    const again = await startNode('b', { listen: { host, port }, snapshots: new TestStore() });
    again.transport.setPeer('a', { host, port: a.transport.port });
    again.transport.send(heartbeat('b', 'a', 1));
    await waitFor(() => a.transport.snapshotsInFlight === 0, 'the reconnection');
    // The core's copy sent again now goes, where it was dropped while b had the snapshot whole.
    a.transport.send(message);
    await waitFor(() => snapshotsIn(again).length === 1, 'the snapshot again');
  });

  it('count one delivered whole no more once its peer reconnects in the same process (its core started afresh)', async () => {
    // A follower whose storage failed while it stored the snapshot starts its core afresh from its disk,
    // without the snapshot, and without a restart for its peers to see: it reconnects instead (RaftNode).
    const { a, b, sending } = await startSnapshotPair({}, {}, { snapshotAnswerWaitMs: 60_000 });
    b.transport.send(heartbeat('b', 'a', 1));
    await waitFor(() => a.inbox.length > 0, "b's link to a");
    const message = installSnapshot('a', 'b', 40, sending.put(randomBytes(1024)));
    a.transport.send(message);
    await waitFor(() => a.transport.stats.snapshotsSent === 1, 'the confirmation of the bytes');
    await sleep(50);
    expect(a.transport.snapshotsInFlight).toBe(1);
    b.transport.reconnect();
    await waitFor(() => a.transport.snapshotsInFlight === 0, 'the reconnection');
    a.transport.send(message);
    await waitFor(() => snapshotsIn(b).length === 2, 'the snapshot again');
    // The link carries messages on its new connection.
    b.transport.send(heartbeat('b', 'a', 2));
    await waitFor(() => a.inbox.filter((m) => m.type === 'AppendEntries').length === 2, 'a message after it');
  });

  it('reconnect over and over while messages stream: one connection each time, and the messages go on', async () => {
    // The callbacks of a connection that `redial` replaced must not act on the link: without that check, the
    // old connection's close undid the new one (half the messages lost, four times the connections).
    const { a, b } = await startSnapshotPair();
    b.transport.send(heartbeat('b', 'a', 1));
    await waitFor(() => a.inbox.length === 1, "b's link to a");
    const opened = b.transport.stats.connectionsOpened;
    for (let round = 2; round <= 21; round++) {
      b.transport.reconnect();
      for (let i = 0; i < 5; i++) b.transport.send(heartbeat('b', 'a', round));
      await sleep(15);
    }
    for (let i = 0; i < 20; i++) b.transport.send(heartbeat('b', 'a', 99));
    await waitFor(
      () => a.inbox.filter((m) => m.type === 'AppendEntries' && m.leaderCommit === 99).length === 20,
      'the last messages',
    );
    expect(b.transport.stats.connectionsOpened - opened).toBeLessThanOrEqual(20);
    // Raft tolerates loss, but a reconnection has no reason to lose what was queued for the new connection.
    expect(a.inbox.filter((m) => m.type === 'AppendEntries').length).toBeGreaterThan(90);
  });

  it('take an answer that arrives before the transfer is seen to end (a small state restored at once)', async () => {
    const { a, b, sending } = await startSnapshotPair({}, {}, { snapshotAnswerWaitMs: 60_000 });
    // Both links up first, so that the answer can overtake the receiver's confirmation of the bytes.
    a.transport.send(heartbeat('a', 'b', 1));
    b.transport.send(heartbeat('b', 'a', 1));
    await waitFor(() => a.inbox.length > 0 && b.inbox.length > 0, 'the links');
    b.transport.onMessage((m) => {
      if (m.type === 'InstallSnapshot') b.transport.send(snapshotAnswer('b', 'a', m.snapshot.meta.index));
    });
    a.transport.send(installSnapshot('a', 'b', 40, sending.put(randomBytes(1024))));
    await waitFor(() => a.inbox.some((m) => m.type === 'InstallSnapshotResponse'), 'the answer');
    await waitFor(() => a.transport.stats.snapshotsSent === 1, 'the confirmation of the bytes');
    await waitFor(() => a.transport.snapshotsInFlight === 0, 'the transfer to count no more');
  });

  it('replace one not under way yet by a newer snapshot', async () => {
    const { a, b, sending, receiving } = await startSnapshotPair();
    const first = installSnapshot('a', 'b', 40, sending.put(randomBytes(MiB)));
    const newer = randomBytes(MiB);
    const second = installSnapshot('a', 'b', 50, sending.put(newer));
    // Both in one turn: the first's connection is not even open.
    a.transport.send(first);
    a.transport.send(second);
    await waitFor(() => snapshotsIn(b).length === 1, 'the newer snapshot');
    expect(Buffer.from(receivedSnapshot(b, receiving, second)).equals(newer)).toBe(true);
    await waitFor(() => a.transport.stats.snapshotsSent === 1, 'the confirmation');
    expect(a.transport.stats.snapshotsFailed).toBe(1);
  });

  it('deliver nothing of a transfer cut mid-way, and start over on the next attempt', async () => {
    const { a, b, sending, receiving } = await startSnapshotPair({ beforeWrite: () => sleep(2) });
    const data = randomBytes(4 * MiB);
    const message = installSnapshot('a', 'b', 40, sending.put(data));
    a.transport.send(message);
    await waitFor(() => receiving.written >= MiB, 'a quarter of the snapshot');
    await a.transport.stop();
    await waitFor(() => receiving.writers[0]?.state === 'aborted', 'the transfer to be aborted');
    await sleep(20);
    expect(snapshotsIn(b)).toEqual([]);
    expect(b.transport.stats).toMatchObject({ snapshotsReceived: 0, snapshotsFailed: 1 });
    expect(b.log.join('\n')).toMatch(/snapshot transfer failed: interrupted after \d+ of 4194304 bytes/);

    const restarted = await startNode('a', { snapshots: sending });
    introduce(restarted, b);
    restarted.transport.send(message);
    await waitFor(() => snapshotsIn(b).length === 1, 'the snapshot, sent again');
    expect(Buffer.from(receivedSnapshot(b, receiving, message)).equals(data)).toBe(true);
    expect(receiving.writers.map((writer) => writer.state)).toEqual(['aborted', 'finished']);
  });

  it('abort, and deliver nothing of, transfers that die, are corrupt, overrun, idle, or are refused', async () => {
    const receiving = new TestStore();
    const b = await startNode('b', {
      snapshots: receiving,
      maxSnapshotBytes: MiB,
      snapshotIdleTimeoutMs: 200,
    });
    const port = b.transport.port;
    b.transport.setPeer('a', { host: '127.0.0.1', port: 1 });
    const data = randomBytes(1000);
    const ref = (changes: Partial<SnapshotRef> = {}): SnapshotRef => ({
      kind: 'snapshot-ref',
      name: 'x',
      bytes: data.length,
      crc32: crc32(data),
      ...changes,
    });
    /** A raw sender authenticated as `a`: an offer of the snapshot as if from `from`, then `chunks`. */
    const transfer = async (offered: SnapshotRef, chunks: Uint8Array[], from = 'a') => {
      const client = await RawClient.authenticated(port, 'a', 'b', secret, 'snapshot');
      client.sendFrame(encodeOffer(installSnapshot(from, 'b', 40, offered), offered, codec, {}));
      for (const chunk of chunks) client.sendFrame(chunk);
      return client;
    };
    const failures = () => b.transport.stats.snapshotsFailed;

    const cut = await transfer(ref(), [data.subarray(0, 500)]);
    await waitFor(() => receiving.written === 500, 'half the data');
    cut.socket.destroy();
    await waitFor(() => failures() === 1, 'the cut transfer to fail');

    await (await transfer(ref({ crc32: 1 }), [data.subarray(0, 500), data.subarray(500)])).waitClosed(
      'corrupt',
    );
    await (await transfer(ref({ bytes: 10 }), [data.subarray(0, 20)])).waitClosed('an overrun');
    await (await transfer(ref(), [data.subarray(0, 5)])).waitClosed('an idle transfer to time out');
    await (await transfer(ref(), [new Uint8Array(0)])).waitClosed('an empty chunk');
    await (await transfer(ref({ bytes: MiB + 1 }), [])).waitClosed('an offer over the limit');
    await (await transfer(ref(), [data], 'c')).waitClosed('an offer from another node');
    const messages = await RawClient.authenticated(port, 'a', 'b');
    messages.sendMessage(installSnapshot('a', 'b', 40, null));
    await waitFor(() => b.transport.stats.decodeErrors === 1, 'a snapshot on a message connection');

    expect(snapshotsIn(b)).toEqual([]);
    expect(failures()).toBe(7);
    expect(receiving.writers.map((writer) => writer.state)).toEqual(Array(5).fill('aborted'));
    const log = b.log.join('\n');
    for (const reason of [
      /interrupted after 500 of 1000 bytes/,
      /CRC-32 \d+ where 1 was offered/,
      /more than the 10 bytes offered/,
      /nothing read or written for 200 ms/,
      /an empty chunk/,
      /a snapshot of 1048577 bytes exceeds the limit of 1048576/,
      /an offer of a snapshot from c to b/,
      /InstallSnapshot outside a snapshot transfer/,
    ]) {
      expect(log).toMatch(reason);
    }
    const a = await startNode('a');
    introduce(a, b);
    a.transport.send(vote('a', 'b', 9));
    await waitFor(() => b.inbox.some((m) => m.term === 9), 'b to still take messages');
  });

  it('fail, without harm, when there is no store, no ref, or the store fails', async () => {
    const a = await startNode('a');
    const b = await startNode('b');
    introduce(a, b);
    a.transport.send(installSnapshot('a', 'b', 40, { kind: 'snapshot-ref', name: 'x', bytes: 1, crc32: 0 }));
    expect(a.transport.stats.framesDropped).toBe(1);
    expect(a.log.join('\n')).toMatch(/no snapshot store: dropping the snapshot at index 40/);
    const refused = await RawClient.authenticated(b.transport.port, 'a', 'b', secret, 'snapshot');
    await refused.waitClosed('a transfer to a node without a store');
    expect(b.log.join('\n')).toMatch(/refusing a snapshot: this node has no snapshot store/);

    const sending = new TestStore({ failReadAt: MiB });
    const receiving = new TestStore();
    const c = await startNode('c', { snapshots: sending });
    const d = await startNode('d', { snapshots: receiving });
    introduce(c, d);
    c.transport.send(installSnapshot('c', 'd', 40, { some: 'plain data' }));
    c.transport.send(installSnapshot('c', 'd', 41, sending.put(randomBytes(2 * MiB))));
    await waitFor(() => receiving.writers[0]?.state === 'aborted', 'the transfer to be aborted');
    expect(c.log.join('\n')).toMatch(
      /cannot send the snapshot at index 40 to d: its data is not a snapshot ref/,
    );
    expect(c.log.join('\n')).toMatch(/cannot send the snapshot at index 41: disk on fire/);
    expect(c.transport.stats).toMatchObject({ framesDropped: 1, snapshotsFailed: 1, snapshotsSent: 0 });
    expect(snapshotsIn(d)).toEqual([]);
  });
});

describe.each([
  { mode: 'shared secret', split: frames, options: async () => ({}) },
  { mode: 'mutual TLS', split: tlsRecords, options: tlsOptions },
])('snapshot transfers with an attacker on the path, $mode mode', ({ split, options }) => {
  it('refuse a changed chunk, and the next attempt arrives whole', async () => {
    const sending = new TestStore();
    const receiving = new TestStore();
    const a = await startNode('a', { snapshots: sending, ...(await options('a')) });
    const b = await startNode('b', { snapshots: receiving, ...(await options('b')) });
    const proxy = await OnPathProxy.start(b.transport.port, split);
    closeLater(() => proxy.close());
    a.transport.setPeer('b', { host, port: proxy.port });
    b.transport.setPeer('a', { host, port: a.transport.port });
    const data = randomBytes(MiB);
    const message = installSnapshot('a', 'b', 40, sending.put(data));

    // Data chunks are the only units this long: the handshake and the offer go through untouched.
    proxy.arm({ kind: 'modify' }, 8 * 1024);
    a.transport.send(message);
    await waitFor(() => a.transport.stats.snapshotsFailed === 1, 'the changed transfer to fail');
    expect(b.transport.stats).toMatchObject({ forgedFrames: 1, snapshotsReceived: 0 });
    expect(receiving.writers.map((writer) => writer.state)).toEqual(['aborted']);

    a.transport.send(message); // as the core does after a timeout
    await waitFor(() => a.transport.stats.snapshotsSent === 1, 'the second attempt');
    expect(Buffer.from(receivedSnapshot(b, receiving, message)).equals(data)).toBe(true);
  });
});
