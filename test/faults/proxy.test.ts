/** The fault-injecting proxy: it forwards, a cut swallows what is sent and resets open connections, a heal undoes it. */
import { once } from 'node:events';
import { createConnection, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LinkProxy, ProxyMesh } from '../../src/check/torture/proxy.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0)) await close();
});

/** An echo server on 127.0.0.1. */
async function echo(): Promise<number> {
  const server = createServer((socket) => socket.pipe(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanup.push(() => new Promise((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

/** Sends `text` through `port` and resolves with what came back within `ms` ('' if nothing). */
async function roundTrip(port: number, text: string, ms = 300): Promise<{ reply: string; closed: boolean }> {
  const socket: Socket = createConnection({ host: '127.0.0.1', port });
  let reply = '';
  let closed = false;
  socket.on('data', (chunk) => (reply += chunk.toString()));
  socket.on('close', () => (closed = true));
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write(text);
  await new Promise((resolve) => setTimeout(resolve, ms));
  socket.destroy();
  return { reply, closed };
}

describe('LinkProxy', () => {
  it('forwards, swallows while cut, and forwards again once healed', async () => {
    const proxy = await LinkProxy.open(await echo());
    cleanup.push(() => proxy.close());
    expect((await roundTrip(proxy.port, 'hello')).reply).toBe('hello');
    proxy.set(true);
    expect(await roundTrip(proxy.port, 'lost')).toEqual({ reply: '', closed: false });
    proxy.set(false);
    expect((await roundTrip(proxy.port, 'again')).reply).toBe('again');
  });

  it('resets the connections open at a cut', async () => {
    const proxy = await LinkProxy.open(await echo());
    cleanup.push(() => proxy.close());
    const socket = createConnection({ host: '127.0.0.1', port: proxy.port });
    socket.on('error', () => {});
    await once(socket, 'connect');
    const closed = once(socket, 'close');
    await new Promise((resolve) => setTimeout(resolve, 50));
    proxy.set(true);
    await closed;
  });
});

describe('ProxyMesh', () => {
  it('partitions: only nodes in a common group hear each other, a bridge hears both sides', async () => {
    const port = await echo();
    const mesh = await ProxyMesh.open(new Map(['a', 'b', 'c'].map((id) => [id, { raft: port }])));
    cleanup.push(() => mesh.close());
    mesh.partition([
      ['a', 'b'],
      ['b', 'c'],
    ]);
    expect(mesh.cut.sort()).toEqual(['a→c', 'c→a']);
    mesh.set('b', 'a', true);
    expect(mesh.cut.sort()).toEqual(['a→c', 'b→a', 'c→a']);
    mesh.heal();
    expect(mesh.cut).toEqual([]);
  });
});

describe('ProxyMesh: a link carries every port of the node it reaches', () => {
  it('a cut loses what goes to each of them (Raft and HTTP alike), and a heal restores each', async () => {
    const [raft, http] = [await echo(), await echo()];
    const mesh = await ProxyMesh.open(new Map(['a', 'b'].map((id) => [id, { raft, http }])));
    cleanup.push(() => mesh.close());
    const ports = [mesh.port('a', 'b', 'raft'), mesh.port('a', 'b', 'http')];
    expect(new Set(ports).size).toBe(2);
    for (const port of ports) expect((await roundTrip(port, 'hello')).reply).toBe('hello');
    mesh.partition([['a'], ['b']]);
    for (const port of ports) expect((await roundTrip(port, 'lost')).reply).toBe('');
    // The other direction's ports are cut too.
    expect((await roundTrip(mesh.port('b', 'a', 'http'), 'lost')).reply).toBe('');
    mesh.heal();
    for (const port of ports) expect((await roundTrip(port, 'again')).reply).toBe('again');
    expect(() => mesh.port('a', 'b', 'admin')).toThrow('no port admin on link a→b');
  });
});
