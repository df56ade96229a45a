import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../core/index.js';
import { defaultCommandSize } from '../../core/index.js';
import { MAX_NODE_ID_BYTES } from '../binary.js';
import { encodeMessage } from './codec.js';
import { encodeFrame, FrameDecoder } from './framing.js';
import { AcceptorHandshake, secretCredentials } from './handshake.js';
import { SEAL_OVERHEAD } from './sealing.js';
import { TcpTransport } from './tcp.js';
import {
  type Command,
  closeAll,
  closeLater,
  codec,
  encoder,
  everyMessageType,
  host,
  introduce,
  RawClient,
  secret,
  sleep,
  startNode,
  startPair,
  type TestNode,
  tlsOptions,
  vote,
  waitFor,
} from './test-support.js';

afterEach(closeAll);

/** Checks that the pair still talks, both ways. */
async function expectPairTalks(a: TestNode, b: TestNode, term: number): Promise<void> {
  a.transport.send(vote('a', 'b', term));
  b.transport.send(vote('b', 'a', term));
  await waitFor(() => b.inbox.some((m) => m.term === term), 'a message from a to b');
  await waitFor(() => a.inbox.some((m) => m.term === term), 'a message from b to a');
}

describe('TcpTransport', () => {
  it('carries every message type both ways, in order', async () => {
    const [a, b] = await startPair();
    for (const message of everyMessageType('a', 'b')) a.transport.send(message);
    for (const message of everyMessageType('b', 'a')) b.transport.send(message);
    const count = everyMessageType('a', 'b').length;
    await waitFor(() => a.inbox.length === count && b.inbox.length === count, 'every message each way');
    expect(b.inbox).toEqual(everyMessageType('a', 'b'));
    expect(a.inbox).toEqual(everyMessageType('b', 'a'));
    expect(a.transport.stats).toMatchObject({
      framesSent: count,
      framesReceived: count,
      framesDropped: 0,
      connectionsOpened: 1,
      connectionsAccepted: 1,
      authFailures: 0,
      decodeErrors: 0,
      queuedFrames: 0,
    });
    expect(a.transport.stats.bytesSent).toBeGreaterThan(0);
    expect(a.transport.stats.bytesReceived).toBeGreaterThan(0);
  });

  it('reconnects to a restarted peer and delivery resumes', async () => {
    const [a, b] = await startPair();
    await expectPairTalks(a, b, 1);
    const port = b.transport.port;
    await b.transport.stop();
    for (let i = 0; i < 5; i++) a.transport.send(vote('a', 'b', 2));

    const restarted = await startNode('b', {
      listen: { host, port },
      peers: { a: { host, port: a.transport.port } },
    });
    const deadline = Date.now() + 5_000;
    while (!restarted.inbox.some((m) => m.term === 3) && Date.now() < deadline) {
      a.transport.send(vote('a', 'b', 3));
      await sleep(20);
    }
    expect(restarted.inbox.some((m) => m.term === 3)).toBe(true);
    await expectPairTalks(a, restarted, 4);
    expect(a.transport.stats.connectionsOpened).toBeGreaterThanOrEqual(2);
  });

  it('a node dials its peers as it starts, and a peer dials back at once instead of waiting out its backoff', async () => {
    // a's backoff is far longer than the test may take: only the peer's own connection can cut it short.
    const a = await startNode('a', { backoff: { initialMs: 20_000, maxMs: 20_000 } });
    const down = await startNode('b');
    const port = down.transport.port;
    await down.transport.stop();
    a.transport.setPeer('b', { host, port });
    a.transport.send(vote('a', 'b', 1));
    await waitFor(() => a.log.some((line) => line.includes('b')), 'the failed connection attempt');
    // b comes back with nothing to say: it dials its peers as it starts, and a dials back at once.
    const startedAt = Date.now();
    const b = await startNode('b', {
      listen: { host, port },
      peers: { a: { host, port: a.transport.port } },
    });
    await waitFor(() => b.inbox.some((m) => m.from === 'a'), 'a reaching b', 2_000);
    expect(Date.now() - startedAt).toBeLessThan(2_000);
  });

  it('survives garbage and oversized frames from raw sockets, and still talks to its peer', async () => {
    const [a, b] = await startPair();
    const port = b.transport.port;

    const http = await RawClient.connect(port);
    http.socket.write('GET / HTTP/1.1\r\nHost: b\r\n\r\n');
    await http.waitClosed('an HTTP request to be cut off');

    const junk = await RawClient.connect(port);
    junk.sendFrame(Uint8Array.of(1, 2, 3, 4, 5));
    await junk.waitClosed('a junk handshake to be refused');

    const huge = await RawClient.connect(port);
    huge.socket.write(Uint8Array.of(0xff, 0xff, 0xff, 0xff));
    await huge.waitClosed('an oversized prefix before authentication to be refused');

    // A member that holds the secret is still held to the frame format and to its own identity.
    b.transport.setPeer('mallory', { host, port: 1 });
    const insider = await RawClient.authenticated(port, 'mallory', 'b');
    insider.sendFrame(Uint8Array.of(99, 1, 2, 3));
    insider.sendFrame(new Uint8Array());
    insider.sendMessage(vote('a', 'b', 50));
    insider.sendMessage(vote('mallory', 'c', 51));
    insider.sendMessage(vote('mallory', 'b', 52));
    await waitFor(() => b.inbox.some((m) => m.term === 52), 'the valid message from mallory');
    expect(b.inbox.map((m) => [m.from, m.term])).toEqual([['mallory', 52]]);
    insider.socket.write(Uint8Array.of(0xff, 0xff, 0xff, 0xff));
    await insider.waitClosed('an oversized prefix after authentication to close the connection');

    expect(b.transport.stats).toMatchObject({
      decodeErrors: 2,
      misaddressed: 2,
      oversizedFrames: 3,
      authFailures: 1,
    });
    expect(b.log.join('\n')).toMatch(/exceeds the limit/);
    await expectPairTalks(a, b, 60);
  });

  it('refuses a connector with the wrong secret, and delivers nothing it sends', async () => {
    const b = await startNode('b');
    const port = b.transport.port;
    const intruder = await startNode('c', { secret: 'wrong', peers: { b: { host, port } } });
    for (let i = 0; i < 3; i++) intruder.transport.send(vote('c', 'b'));
    await waitFor(() => b.transport.stats.authFailures >= 1, 'the handshake to fail');

    // A raw intruder pipelines messages right behind its forged proof.
    const raw = await RawClient.authenticated(port, 'd', 'b', 'also wrong');
    raw.sendMessage(vote('d', 'b'));
    await raw.waitClosed('the forged handshake to be refused');

    await sleep(50);
    expect(b.inbox).toEqual([]);
    expect(b.transport.stats.framesReceived).toBe(0);
    expect(intruder.transport.stats.connectionsOpened).toBe(0);
    expect(b.log.join('\n')).toMatch(/wrong secret/);
  });

  it('takes connections from members only, and cuts off a member once removed', async () => {
    const [a, b] = await startPair();
    await expectPairTalks(a, b, 1);
    // c holds the secret, but b does not know it.
    const c = await startNode('c', { peers: { b: { host, port: b.transport.port } } });
    c.transport.send(vote('c', 'b'));
    await waitFor(() => b.transport.stats.authFailures === 1, 'b to refuse c');
    expect(b.log.join('\n')).toMatch(/refusing "c": not a member of the cluster/);
    expect(c.transport.stats.connectionsOpened).toBe(0);
    // c keeps trying (a removed node that still runs does, for ever): refused each time, logged once.
    await waitFor(() => b.transport.stats.authFailures >= 3, 'b to refuse c again');
    expect(b.log.filter((line) => line.includes('refusing "c"'))).toHaveLength(1);
    await c.transport.stop();
    const refused = b.transport.stats.authFailures;

    expect(b.transport.members).toEqual(['a']);
    b.transport.removePeer('a');
    expect(b.transport.members).toEqual([]);
    // a finds its connection closed when it next sends, and dials again: refused from now on.
    await waitFor(() => {
      a.transport.send(vote('a', 'b', 2));
      return b.transport.stats.authFailures > refused;
    }, 'b to refuse a from now on');
    expect(b.log.join('\n')).toMatch(/refusing "a": not a member of the cluster/);
    b.transport.send(vote('b', 'a', 3));
    expect(b.log.join('\n')).toMatch(/no address for "a"/);
    expect(b.inbox.map((m) => m.term)).toEqual([1]);

    introduce(a, b);
    await expectPairTalks(a, b, 4);
  });

  it('closes a connection that never completes the handshake', async () => {
    const b = await startNode('b');
    const silent = await RawClient.connect(b.transport.port);
    await silent.waitClosed('the silent connection to be closed');
    expect(silent.frames).toHaveLength(1); // the hello, and nothing else
    expect(b.transport.stats.handshakeTimeouts).toBe(1);
    expect(b.log.join('\n')).toMatch(/handshake not completed within 300 ms/);
  });

  it.each(['shared secret', 'mutual TLS'])(
    'closes the oldest pending handshake for a new connection, so that idle connections cannot keep a member out (%s)',
    async (mode) => {
      const security = async (id: 'a' | 'b') => (mode === 'mutual TLS' ? await tlsOptions(id) : {});
      // Handshakes that would hold their places for 10 s: refusing new connections, a member would wait that long.
      const b = await startNode('b', {
        ...(await security('b')),
        maxPendingHandshakes: 4,
        handshakeTimeoutMs: 10_000,
      });
      const idle = await Promise.all(Array.from({ length: 4 }, () => RawClient.connect(b.transport.port)));
      const a = await startNode('a', { ...(await security('a')), handshakeTimeoutMs: 10_000 });
      introduce(a, b);
      a.transport.send(vote('a', 'b', 5));
      await waitFor(() => b.inbox.some((m) => m.term === 5), 'the member to get through');
      await idle[0]!.waitClosed('the oldest idle connection to be closed');
      expect(b.transport.stats.handshakesEvicted).toBeGreaterThanOrEqual(1);
      expect(b.log.join('\n')).toMatch(/closed the connection from .* for a newer one: 4 handshakes pending/);
      expect(b.transport.stats.authFailures).toBe(0);
    },
  );

  it('sends nothing to an acceptor that cannot prove it holds the secret', async () => {
    const received: Uint8Array[] = [];
    const impostor = await startRawServer((socket) => {
      const decoder = new FrameDecoder(1 << 20);
      socket.on('data', (chunk: Buffer) => {
        decoder.push(chunk);
        for (let result = decoder.next(); result?.kind === 'frame'; result = decoder.next()) {
          received.push(result.payload);
          // Answer the auth frame with a guessed proof; record whatever comes after.
          if (received.length === 1) socket.write(encodeFrame(new Uint8Array(32)));
        }
      });
      socket.write(
        encodeFrame(new AcceptorHandshake('b', secretCredentials(encoder.encode('not the secret'))).hello),
      );
    });
    const a = await startNode('a', { peers: { b: { host, port: portOf(impostor) } } });
    a.transport.send(vote('a', 'b'));
    await waitFor(() => a.transport.stats.authFailures >= 1, 'the connector to refuse the acceptor');
    await sleep(30);
    expect(received.length).toBeGreaterThanOrEqual(1);
    // Auth frames only, one per attempt: id 'a' (2 bytes), purpose (1), nonce and proof (33 bytes each).
    expect(new Set(received.map((frame) => frame.length))).toEqual(new Set([69]));
    expect(a.transport.stats.framesSent).toBe(0);
    expect(a.log.join('\n')).toMatch(/b does not hold the cluster secret/);
  });

  it('refuses to send to a node that answers at the address of another', async () => {
    const [a] = await startPair();
    const c = await startNode('c');
    a.transport.setPeer('b', { host, port: c.transport.port });
    a.transport.send(vote('a', 'b'));
    await waitFor(() => a.transport.stats.authFailures >= 1, 'the wrong acceptor to be refused');
    expect(c.inbox).toEqual([]);
    expect(a.log.join('\n')).toMatch(/the address of b is held by "c"/);
  });

  it('drops instead of growing when the queue to an unreachable peer is full', async () => {
    const closedPort = await unusedPort();
    const a = await startNode('a', { peers: { ghost: { host, port: closedPort } }, maxQueuedFrames: 8 });
    for (let i = 1; i <= 100; i++) a.transport.send(vote('a', 'ghost', i));
    expect(a.transport.stats).toMatchObject({ queuedFrames: 8, framesDropped: 92, framesSent: 0 });
    await sleep(50);
    for (let i = 101; i <= 200; i++) a.transport.send(vote('a', 'ghost', i));
    expect(a.transport.stats).toMatchObject({ queuedFrames: 8, framesDropped: 192, framesSent: 0 });

    a.transport.send(vote('a', 'nobody'));
    a.transport.send(vote('a', 'nobody'));
    expect(a.transport.stats.framesDropped).toBe(194);
    expect(a.log.filter((line) => line.includes('no address for "nobody"'))).toHaveLength(1);
  });

  it('delivers the latest messages once an unreachable peer comes up', async () => {
    const port = await unusedPort();
    const a = await startNode('a', { peers: { b: { host, port } }, maxQueuedFrames: 3 });
    for (let term = 1; term <= 10; term++) a.transport.send(vote('a', 'b', term));
    await sleep(30);
    const b = await startNode('b', {
      listen: { host, port },
      peers: { a: { host, port: a.transport.port } },
    });
    await waitFor(() => b.inbox.length === 3, 'the queued messages');
    expect(b.inbox.map((m) => m.term)).toEqual([8, 9, 10]);
  });

  it('drops messages it cannot encode or that exceed the frame limit, without throwing', async () => {
    const [a, b] = await startPair();
    const small = await startNode('s', { peers: { b: { host, port: b.transport.port } }, maxFrameBytes: 64 });
    expect(() => a.transport.send({ ...vote('a', 'b'), term: -1 })).not.toThrow();
    const bulky: Message<Command> = {
      ...everyMessageType('s', 'b').find((message) => message.type === 'AppendEntries')!,
      entries: [{ index: 42, term: 6, kind: 'command', command: { op: 'x'.repeat(100), value: 1 } }],
    } as Message<Command>;
    small.transport.send(bulky);
    expect(a.transport.stats.framesDropped).toBe(1);
    expect(small.transport.stats.framesDropped).toBe(1);
    await expectPairTalks(a, b, 9);
  });

  it('keeps delivering when a message handler throws', async () => {
    const [a, b] = await startPair();
    let calls = 0;
    b.transport.onMessage(() => {
      calls++;
      throw new Error('handler bug');
    });
    a.transport.send(vote('a', 'b', 1));
    a.transport.send(vote('a', 'b', 2));
    await waitFor(() => b.inbox.length === 2, 'both messages');
    expect(calls).toBe(2);
    expect(b.transport.stats.handlerErrors).toBe(2);
    expect(b.log.join('\n')).toMatch(/handler bug/);
  });

  it('leaves no sockets or timers behind when stopped', async () => {
    // Handles are released a loop iteration after their 'close' events: let earlier tests' ones go first.
    await sleep(20);
    const before = countResources();
    const [a, b] = await startPair();
    await expectPairTalks(a, b, 1);
    a.transport.send(vote('a', 'b', 2));
    a.transport.setPeer('ghost', { host, port: await unusedPort() });
    a.transport.send(vote('a', 'ghost'));
    await sleep(20); // let the link to the ghost fail and arm its retry timer
    expect(countResources()).toMatchObject({ TCPServerWrap: (before.TCPServerWrap ?? 0) + 2 });
    expect(countResources().TCPSocketWrap).toBeGreaterThanOrEqual((before.TCPSocketWrap ?? 0) + 4);
    await Promise.all([a.transport.stop(), b.transport.stop()]);
    await sleep(20);
    const leaked = Object.entries(countResources()).filter(([kind, count]) => count > (before[kind] ?? 0));
    expect(leaked).toEqual([]);
    expect(a.transport.stats.queuedFrames).toBe(0);
    a.transport.send(vote('a', 'b', 3));
    await expect(a.transport.start()).rejects.toThrow(/cannot start again/);
  });

  it('names the largest command a frame carries, which fits with the longest ids', () => {
    const maxFrameBytes = 64 * 1024;
    const transport = new TcpTransport({
      id: 'a',
      listen: { host, port: 0 },
      peers: {},
      secret,
      codec,
      maxFrameBytes,
    });
    const { maxCommandBytes } = transport;
    expect(maxCommandBytes).toBe(maxFrameBytes - 4 * 1024);
    // A command whose JSON is that long (the default commandSize), between two ids of the longest kind.
    const command: Command = {
      op: 'x'.repeat(maxCommandBytes - JSON.stringify({ op: '', value: 1 }).length),
      value: 1,
    };
    expect(defaultCommandSize(command)).toBe(maxCommandBytes);
    const [from, to] = ['a', 'b'].map((id) => id.repeat(MAX_NODE_ID_BYTES)) as [string, string];
    const entries = [{ index: 2 ** 40 + 1, term: 2 ** 40, kind: 'command' as const, command }];
    const message = {
      type: 'AppendEntries' as const,
      term: 2 ** 40,
      from,
      to,
      prevLogIndex: 2 ** 40,
      prevLogTerm: 2 ** 40,
      entries,
      leaderCommit: 2 ** 40,
      round: 2 ** 40,
    };
    expect(encodeMessage(message, codec).length + SEAL_OVERHEAD).toBeLessThanOrEqual(maxFrameBytes);
  });

  it('rejects bad options at construction', () => {
    const base = { id: 'a', listen: { host, port: 0 }, peers: {}, secret, codec };
    expect(() => new TcpTransport({ ...base, secret: '' })).toThrow(/secret/);
    expect(() => new TcpTransport({ ...base, id: '' })).toThrow(/non-empty/);
    expect(() => new TcpTransport({ ...base, maxQueuedFrames: 0 })).toThrow(/maxQueuedFrames/);
    expect(() => new TcpTransport({ ...base, peers: { b: { host, port: 70_000 } } })).toThrow(/port/);
    expect(() => new TcpTransport({ ...base, maxSnapshotBytes: 2 ** 64 })).toThrow(/maxSnapshotBytes/);
    expect(() => new TcpTransport({ ...base, snapshotIdleTimeoutMs: 0 })).toThrow(/snapshotIdleTimeoutMs/);
    expect(() => new TcpTransport({ ...base, maxFrameBytes: 1024, snapshotChunkBytes: 1025 })).toThrow(
      /snapshotChunkBytes exceeds maxFrameBytes/,
    );
  });
});

/** The resources that a transport could leak, by kind. */
function countResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind.startsWith('TCP') || kind === 'Timeout') counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

async function startRawServer(onConnection: (socket: Socket) => void): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    onConnection(socket);
  });
  closeLater(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  server.listen(0, host);
  await once(server, 'listening');
  return server;
}

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  return address.port;
}

/** A port nothing listens on (for a moment, which is all these tests need). */
async function unusedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const port = portOf(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}
