/**
 * The mutual-TLS mode: a node speaks only as the node its certificate names, only to the node it dialled, and
 * only if it is a member; anything else is refused before a message is delivered, counted and logged.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TcpTransport } from './tcp.js';
import {
  closeAll,
  codec,
  host,
  introduce,
  RawClient,
  secret,
  startNode,
  testPki,
  tlsOptions,
  vote,
  waitFor,
} from './test-support.js';
import { MutualTls } from './tls.js';

afterEach(closeAll);

describe('TcpTransport with mutual TLS', () => {
  it('carries messages both ways, and only TLS', async () => {
    const a = await startNode('a', await tlsOptions('a'));
    const b = await startNode('b', await tlsOptions('b'));
    introduce(a, b);
    a.transport.send(vote('a', 'b', 1));
    b.transport.send(vote('b', 'a', 2));
    await waitFor(() => a.inbox.length === 1 && b.inbox.length === 1, 'a message each way');
    expect(a.log.join('\n')).toMatch(/listening on .* \(mutual TLS\)/);

    // A shared-secret peer does not get past the TLS handshake.
    const plain = await RawClient.connect(b.transport.port);
    plain.sendFrame(Uint8Array.of(1, 2, 3));
    await plain.waitClosed('a plain TCP client to be refused');
    await waitFor(() => b.transport.stats.authFailures === 1, 'the refusal to be counted');
  });

  it('refuses a node with a certificate of the CA that is not a member', async () => {
    const b = await startNode('b', await tlsOptions('b'));
    const c = await startNode('c', {
      ...(await tlsOptions('c')),
      peers: { b: { host, port: b.transport.port } },
    });
    c.transport.send(vote('c', 'b'));
    await waitFor(() => b.transport.stats.authFailures >= 1, 'b to refuse c');
    expect(b.inbox).toEqual([]);
    expect(c.transport.stats.connectionsOpened).toBe(0);
    expect(b.log.join('\n')).toMatch(/refusing "c": not a member of the cluster/);
  });

  it('refuses a node that claims the id of another member', async () => {
    const b = await startNode('b', await tlsOptions('b'));
    b.transport.setPeer('a', { host, port: 1 });
    const { credentials } = await testPki();
    const liar = await RawClient.authenticated(
      b.transport.port,
      'a',
      'b',
      { tls: credentials('c'), certifiedAs: 'c' },
      'messages',
      false,
    );
    liar.sendMessage(vote('a', 'b'));
    await liar.waitClosed('the liar to be refused');
    expect(b.inbox).toEqual([]);
    expect(b.transport.stats.authFailures).toBe(1);
    expect(b.log.join('\n')).toMatch(/a connector claims to be "a" but its certificate names "c"/);
  });

  it('refuses a certificate another CA signed', async () => {
    const b = await startNode('b', await tlsOptions('b'));
    b.transport.setPeer('stranger', { host, port: 1 });
    const { stranger } = await testPki();
    const client = await RawClient.connect(b.transport.port, new MutualTls('stranger', stranger, 1_000), 'b');
    await client.waitClosed('the stranger to be refused');
    await waitFor(() => b.transport.stats.authFailures === 1, 'the refusal to be counted');
    expect(b.log.join('\n')).toMatch(/its certificate is not signed by the cluster's CA/);
  });

  it('sends nothing to a node at the address of another', async () => {
    const a = await startNode('a', await tlsOptions('a'));
    const c = await startNode('c', { ...(await tlsOptions('c')), peers: { a: { host, port: 1 } } });
    a.transport.setPeer('b', { host, port: c.transport.port });
    a.transport.send(vote('a', 'b'));
    await waitFor(() => a.transport.stats.authFailures >= 1, 'a to refuse c as b');
    expect(c.inbox).toEqual([]);
    expect(c.transport.stats.connectionsAccepted).toBe(0);
    expect(a.log.join('\n')).toMatch(/TLS: the certificate at the address of b names "c"/);
  });

  it('refuses a certificate that names another node, and takes exactly one of secret and TLS', async () => {
    const { credentials } = await testPki();
    const base = { listen: { host, port: 0 }, peers: {}, codec };
    expect(() => new TcpTransport({ ...base, id: 'a', tls: credentials('b') })).toThrow(
      'the TLS certificate of node "a" names "b"',
    );
    expect(() => new TcpTransport({ ...base, id: 'a', tls: { ...credentials('a'), key: 'junk' } })).toThrow(
      /cannot use the TLS certificate, key or CA/,
    );
    expect(() => new TcpTransport({ ...base, id: 'a', secret, tls: credentials('a') })).toThrow(
      /exactly one/,
    );
    expect(() => new TcpTransport({ ...base, id: 'a' })).toThrow(/exactly one/);
  });
});
