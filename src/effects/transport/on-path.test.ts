/**
 * An attacker on the path between two nodes, without the secret or a key, who lets the real handshake through
 * and then replays, reorders, drops, changes or injects what a sends b (the attack of issue 9: an injected
 * AppendEntries "from a" that rewrote committed data). In both modes every such frame is refused: b closes
 * the connection, counts it, delivers nothing forged or twice, and a reconnects and goes on.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../core/index.js';
import { encodeMessage } from './codec.js';
import { encodeFrame } from './framing.js';
import { type Attack, frames, OnPathProxy, type Splitter, tlsRecords } from './on-path-proxy.js';
import type { TcpTransportOptions } from './tcp.js';
import {
  type Command,
  closeAll,
  closeLater,
  codec,
  host,
  sleep,
  startNode,
  type TestNode,
  tlsOptions,
  vote,
  waitFor,
} from './test-support.js';

afterEach(closeAll);

/** The forged AppendEntries of the issue: a higher term, a changed value, a commit index that covers it. */
const forged: Message<Command> = {
  type: 'AppendEntries',
  term: 99,
  from: 'a',
  to: 'b',
  prevLogIndex: 0,
  prevLogTerm: 0,
  leaderCommit: 1,
  round: 1,
  entries: [{ index: 1, term: 99, kind: 'command', command: { op: 'set', value: 666 } }],
};

interface Mode {
  readonly name: string;
  readonly split: Splitter;
  readonly options: (id: 'a' | 'b') => Promise<Partial<TcpTransportOptions<Command>>>;
  /** What an attacker can inject: our frame format in the clear, or a TLS application-data record. */
  readonly injected: Uint8Array;
  /** What b logs when it refuses a frame. */
  readonly refusal: RegExp;
}

const modes: Mode[] = [
  {
    name: 'shared secret',
    split: frames,
    options: async () => ({}),
    injected: encodeFrame(encodeMessage(forged, codec)),
    refusal: /a frame failed authentication/,
  },
  {
    name: 'mutual TLS',
    split: tlsRecords,
    options: tlsOptions,
    injected: Buffer.concat([Buffer.of(0x17, 0x03, 0x03, 0x00, 0x40), randomBytes(64)]),
    refusal: /TLS: decryption failed or bad record mac/,
  },
];

const attacks: Attack[] = [
  { kind: 'replay' },
  { kind: 'reorder' },
  { kind: 'drop' },
  { kind: 'modify' },
  { kind: 'inject', unit: modes[0]!.injected },
];

/** a and b, with everything a sends b going through the proxy. */
async function pairOnPath(mode: Mode): Promise<{ a: TestNode; b: TestNode; proxy: OnPathProxy }> {
  const a = await startNode('a', await mode.options('a'));
  const b = await startNode('b', await mode.options('b'));
  const proxy = await OnPathProxy.start(b.transport.port, mode.split);
  closeLater(() => proxy.close());
  a.transport.setPeer('b', { host, port: proxy.port });
  b.transport.setPeer('a', { host, port: a.transport.port });
  return { a, b, proxy };
}

/** Sends a vote of `term` from a to b (again every 200 ms) until b has it. */
async function deliver(a: TestNode, b: TestNode, term: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!b.inbox.some((message) => message.term === term)) {
    if (Date.now() > deadline) throw new Error(`b never received term ${term}`);
    a.transport.send(vote('a', 'b', term));
    await waitFor(() => b.inbox.some((message) => message.term === term), `term ${term}`, 200).catch(
      () => {},
    );
  }
}

describe.each(modes)('an attacker on the path, $name mode', (mode) => {
  it.each(attacks.map((attack) => [attack.kind, attack] as const))(
    '%s: refused, closed and counted, and the nodes go on',
    async (_kind, genericAttack) => {
      const attack =
        genericAttack.kind === 'inject' ? { ...genericAttack, unit: mode.injected } : genericAttack;
      const { a, b, proxy } = await pairOnPath(mode);
      await deliver(a, b, 1);
      proxy.arm(attack);
      a.transport.send(vote('a', 'b', 2));
      await sleep(30);
      a.transport.send(vote('a', 'b', 3));
      await waitFor(() => b.transport.stats.forgedFrames === 1, 'b to refuse the attacked frame');
      expect(proxy.done).toEqual([attack]);
      await deliver(a, b, 4);

      const count = (term: number) => b.inbox.filter((message) => message.term === term).length;
      expect([count(2), count(3)].every((n) => n <= 1)).toBe(true);
      expect(b.inbox.every((message) => message.type === 'RequestVote' && message.from === 'a')).toBe(true);
      expect(b.transport.stats).toMatchObject({ forgedFrames: 1, decodeErrors: 0 });
      expect(b.log.join('\n')).toMatch(mode.refusal);
      expect(a.transport.stats.connectionsOpened).toBe(2);
    },
  );

  it('refuses a whole recorded connection replayed to the acceptor', async () => {
    const { a, b, proxy } = await pairOnPath(mode);
    await deliver(a, b, 1);
    const received = b.inbox.length;
    await proxy.replayConnection(proxy.transcripts[0]!);
    await waitFor(() => b.transport.stats.authFailures === 1, 'the replayed handshake to be refused');
    expect(b.inbox).toHaveLength(received);
    await deliver(a, b, 2);
  });
});
