/**
 * A real node process facing hostile bytes on its Raft port: garbage, an oversized frame, and a peer without
 * the cluster secret. The transport's unit tests cover each case in detail; here the point is that the node
 * process survives them and its cluster keeps working.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonCodec } from '../../src/effects/binary.js';
import { TcpTransport } from '../../src/effects/transport/index.js';
import type { KvEntry } from '../../src/kv/index.js';
import { KvClient } from './client.js';
import { eventually, ProcessCluster } from './harness.js';

let cluster: ProcessCluster;
let target: string;
beforeAll(async () => {
  cluster = await ProcessCluster.start();
  target = await cluster.leader();
});
afterAll(async () => {
  await cluster?.stop();
});

/** Writes `bytes` to the target's Raft port; resolves once the node has closed the connection. */
async function sendRaw(bytes: Uint8Array): Promise<void> {
  const { port } = cluster.config(target).raft;
  await new Promise<void>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', () => resolve());
    socket.setTimeout(5_000, () => reject(new Error('the node did not close the connection within 5 s')));
  });
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${cluster.url(target)}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no metric ${name}`);
  return Number(line.split(' ')[1]);
}

/** The target still runs, still leads, and the cluster still commits writes. */
async function expectUnharmed(): Promise<void> {
  expect(cluster.processes.get(target)!.running).toBe(true);
  expect(await cluster.leader()).toBe(target);
  const client = new KvClient(`check-${Date.now()}`, [cluster.url(target)]);
  expect(await client.put('still', 'working', 5_000)).toBe(true);
}

describe('a node process facing hostile bytes on its Raft port', () => {
  it('survives garbage', async () => {
    await sendRaw(randomBytes(64 * 1024));
    // A frame of the right shape whose payload is garbage, where the handshake's Auth frame should be.
    const frame = Buffer.alloc(4 + 200);
    frame.writeUInt32BE(200, 0);
    randomBytes(200).copy(frame, 4);
    await sendRaw(frame);
    await expectUnharmed();
  });

  it('closes a connection that announces an oversized frame, without buffering it', async () => {
    const before = await metric('pureraft_transport_oversized_frames_total');
    const header = Buffer.alloc(4);
    header.writeUInt32BE(0xffff_ffff, 0);
    await sendRaw(header);
    expect(await metric('pureraft_transport_oversized_frames_total')).toBe(before + 1);
    await expectUnharmed();
  });

  it('refuses a peer without the secret, even one that claims a member’s id', async () => {
    const before = await metric('pureraft_transport_auth_failures_total');
    const { term } = await cluster.status(target);
    const impostorId = cluster.ids.find((id) => id !== target)!;
    const impostor = new TcpTransport<KvEntry>({
      id: impostorId,
      listen: { host: '127.0.0.1', port: 0 },
      peers: { [target]: cluster.config(target).raft },
      secret: 'not the secret',
      codec: jsonCodec(),
    });
    await impostor.start();
    try {
      // A vote request for a far later term would depose the leader, were it ever delivered.
      impostor.send({
        type: 'RequestVote',
        term: term + 100,
        from: impostorId,
        to: target,
        lastLogIndex: 1e6,
        lastLogTerm: term + 99,
        transfer: false,
      });
      await eventually('the node to refuse the impostor', 5_000, async () =>
        (await metric('pureraft_transport_auth_failures_total')) > before ? true : undefined,
      );
    } finally {
      await impostor.stop();
    }
    expect((await cluster.status(target)).term).toBe(term);
    await expectUnharmed();
  });
});
