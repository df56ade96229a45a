import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AcceptorHandshake,
  ConnectorHandshake,
  type HandshakeCredentials,
  type HandshakeOutcome,
  PROTOCOL_VERSION,
  secretCredentials,
} from './handshake.js';

const secret = secretCredentials(new TextEncoder().encode('cluster secret'));
const otherSecret = secretCredentials(new TextEncoder().encode('another secret'));

function reply(outcome: HandshakeOutcome): Uint8Array {
  if (outcome.kind === 'failed' || outcome.reply === undefined)
    throw new Error(`no reply: ${JSON.stringify(outcome)}`);
  return outcome.reply;
}

/** Runs a full handshake between a connector `a` and an acceptor `b`, returning both outcomes. */
function handshake(
  connectorSecret: HandshakeCredentials,
  acceptorSecret: HandshakeCredentials,
  expectedPeer = 'b',
) {
  const acceptor = new AcceptorHandshake('b', acceptorSecret);
  const connector = new ConnectorHandshake('a', expectedPeer, connectorSecret, 'messages');
  const afterHello = connector.receive(acceptor.hello);
  if (afterHello.kind === 'failed') return { connector: afterHello };
  const atAcceptor = acceptor.receive(reply(afterHello));
  if (atAcceptor.kind === 'failed') return { acceptor: atAcceptor };
  return { acceptor: atAcceptor, connector: connector.receive(reply(atAcceptor)) };
}

describe('handshake', () => {
  it('authenticates both sides that hold the secret', () => {
    const { acceptor, connector } = handshake(secret, secret);
    expect(acceptor).toMatchObject({ kind: 'authenticated', peerId: 'a' });
    expect(connector).toMatchObject({ kind: 'authenticated', peerId: 'b', purpose: 'messages' });
  });

  it('gives both ends the same two frame keys, one per direction, new for every connection', () => {
    const keysOf = (outcome: HandshakeOutcome | undefined) => {
      if (outcome?.kind !== 'authenticated' || outcome.keys === undefined) throw new Error('no keys');
      return outcome.keys;
    };
    const first = handshake(secret, secret);
    const [acceptor, connector] = [keysOf(first.acceptor), keysOf(first.connector)];
    expect(connector.send).toEqual(acceptor.receive);
    expect(connector.receive).toEqual(acceptor.send);
    expect(connector.send).not.toEqual(connector.receive);
    const second = keysOf(handshake(secret, secret).connector);
    expect(second.send).not.toEqual(connector.send);
    expect(second.receive).not.toEqual(connector.receive);
  });

  it('under TLS, holds each side to the id its certificate names, and seals nothing', () => {
    const certified = (id: string): HandshakeCredentials => ({
      secret: secret.secret,
      certifiedPeer: () => id,
      sealFrames: false,
    });
    const honest = handshake(certified('b'), certified('a'));
    expect(honest.acceptor).toMatchObject({ kind: 'authenticated', peerId: 'a' });
    expect(honest.connector).toMatchObject({ kind: 'authenticated', peerId: 'b' });
    expect(honest.connector).not.toHaveProperty('keys');
    // The connector holds c's certificate but claims to be a.
    expect(handshake(certified('b'), certified('c')).acceptor).toMatchObject({
      kind: 'failed',
      reason: 'a connector claims to be "a" but its certificate names "c"',
    });
    expect(handshake(certified('c'), certified('a')).connector).toMatchObject({
      kind: 'failed',
      reason: 'the acceptor claims to be "b" but its certificate names "c"',
    });
  });

  it('refuses a connector with the wrong secret', () => {
    expect(handshake(otherSecret, secret).acceptor).toMatchObject({ kind: 'failed', reason: /wrong secret/ });
  });

  it('refuses an acceptor that cannot prove it holds the secret', () => {
    const acceptor = new AcceptorHandshake('b', otherSecret);
    const connector = new ConnectorHandshake('a', 'b', secret, 'messages');
    reply(connector.receive(acceptor.hello));
    // Without the secret an impostor can only guess the 32-byte proof.
    expect(connector.receive(new Uint8Array(32).fill(7))).toMatchObject({
      kind: 'failed',
      reason: /does not hold/,
    });
  });

  it('refuses an acceptor that is not the expected peer', () => {
    expect(handshake(secret, secret, 'c').connector).toMatchObject({ kind: 'failed', reason: /held by "b"/ });
  });

  it('refuses a replayed auth frame: the acceptor chose a new nonce', () => {
    const first = new AcceptorHandshake('b', secret);
    const auth = reply(new ConnectorHandshake('a', 'b', secret, 'messages').receive(first.hello));
    expect(first.receive(auth).kind).toBe('authenticated');
    expect(new AcceptorHandshake('b', secret).receive(auth)).toMatchObject({ kind: 'failed' });
  });

  it('refuses a connector claiming to be the acceptor itself', () => {
    const acceptor = new AcceptorHandshake('b', secret);
    const auth = reply(new ConnectorHandshake('b', 'b', secret, 'messages').receive(acceptor.hello));
    expect(acceptor.receive(auth)).toMatchObject({ kind: 'failed', reason: /this node/ });
  });

  it('refuses another protocol version', () => {
    const hello = new AcceptorHandshake('b', secret).hello.slice();
    hello[0] = PROTOCOL_VERSION + 1;
    const outcome = new ConnectorHandshake('a', 'b', secret, 'messages').receive(hello);
    expect(outcome).toMatchObject({ kind: 'failed', reason: new RegExp(`version ${PROTOCOL_VERSION + 1}`) });
  });

  it('tells the acceptor what the connection is for, under the proof', () => {
    const acceptor = new AcceptorHandshake('b', secret);
    const connector = new ConnectorHandshake('a', 'b', secret, 'snapshot');
    const auth = reply(connector.receive(acceptor.hello));
    const welcome = acceptor.receive(auth);
    expect(welcome).toMatchObject({ kind: 'authenticated', peerId: 'a', purpose: 'snapshot' });
    expect(connector.receive(reply(welcome))).toMatchObject({
      kind: 'authenticated',
      peerId: 'b',
      purpose: 'snapshot',
    });

    // The purpose byte follows the connector id ('a': a length byte and one byte); changing it voids the proof.
    const fresh = new AcceptorHandshake('b', secret);
    const forged = reply(new ConnectorHandshake('a', 'b', secret, 'snapshot').receive(fresh.hello)).slice();
    forged[2] = 0;
    expect(fresh.receive(forged)).toMatchObject({ kind: 'failed', reason: /wrong secret/ });
    forged[2] = 9;
    expect(fresh.receive(forged)).toMatchObject({ kind: 'failed', reason: /unknown connection purpose 9/ });
  });

  it('never throws on random frames', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.uint8Array({ maxLength: 40 }), (first, second) => {
        const connector = new ConnectorHandshake('a', 'b', secret, 'messages');
        expect(connector.receive(first).kind).toBe('failed');
        expect(new AcceptorHandshake('b', secret).receive(first).kind).toBe('failed');
        const genuine = new ConnectorHandshake('a', 'b', secret, 'messages');
        reply(genuine.receive(new AcceptorHandshake('b', secret).hello));
        expect(genuine.receive(second).kind).toBe('failed');
      }),
      { numRuns: 300 },
    );
  });
});
