/**
 * The mutual-TLS mode of the transport (see security.ts). Every node holds a certificate signed by the
 * cluster's CA whose subject common name (CN) is its node id, and both ends of every connection present one:
 * - the acceptor takes only a certificate its CA signed, and the connector must then claim, in the handshake,
 *   the id its certificate names (and be a member: tcp.ts);
 * - the connector takes only the certificate of the node it dialled, so a stale address or an impostor
 *   holding another node's address never receives its messages.
 * So a node can speak only as itself. The handshake (handshake.ts) runs inside TLS as in the shared-secret
 * mode, keyed with material exported from the TLS session; TLS itself protects every frame after it.
 *
 * The CA must be one made for this cluster alone (`pureraft certs` makes one): whatever it signs is a node.
 */
import { X509Certificate } from 'node:crypto';
import type { Server, Socket } from 'node:net';
import {
  connect,
  createSecureContext,
  createServer,
  type PeerCertificate,
  type SecureContext,
  type TLSSocket,
} from 'node:tls';
import type { NodeId } from '../../core/index.js';
import { describeError } from './codec.js';
import type { HandshakeCredentials } from './handshake.js';
import {
  type PeerAddress,
  type PeerSecurity,
  refuse,
  type ServerHooks,
  type SocketFailure,
} from './security.js';

/** A node's certificate and key, and the cluster's CA, in PEM. */
export interface TlsCredentials {
  /** This node's certificate; its subject's common name must be the node's id. */
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  /** The certificate of the cluster's CA: a peer is whoever holds a certificate it signed. */
  readonly ca: string | Buffer;
}

const MIN_VERSION = 'TLSv1.3';
const EXPORTER_LABEL = 'EXPORTER-pureraft-handshake';
const EXPORTED_BYTES = 32;

type Subject = Readonly<Record<string, string | readonly string[] | undefined>> | undefined;

/** The node id a certificate's subject names, or why it names none. */
export function certifiedNodeId(subject: Subject): { readonly id: NodeId } | { readonly problem: string } {
  const names = subject?.CN;
  if (typeof names === 'string' && names.length > 0) return { id: names };
  if (names === undefined || names.length === 0) return { problem: 'the certificate names no node (no CN)' };
  return { problem: 'the certificate names more than one node (several CNs)' };
}

export class MutualTls implements PeerSecurity {
  readonly mode = 'mutual TLS';
  /** For the server: it takes the credentials themselves, not a context. */
  private readonly own: TlsCredentials;
  /** For the connections this node opens. */
  private readonly context: SecureContext;
  /** Sockets past their TLS handshake: an error on one is about the data, not the credentials. */
  private readonly secured = new WeakSet<Socket>();

  constructor(
    ownId: NodeId,
    credentials: TlsCredentials,
    private readonly handshakeTimeoutMs: number,
  ) {
    const { cert, key, ca } = credentials;
    this.own = { cert, key, ca };
    try {
      this.context = createSecureContext({ cert, key, ca, minVersion: MIN_VERSION });
    } catch (error) {
      throw new RangeError(`cannot use the TLS certificate, key or CA: ${describeError(error)}`);
    }
    // Fail at once, not on every connection, when the certificate is another node's.
    const subject = new X509Certificate(cert).subject;
    const names = subject.split('\n').filter((line) => line.startsWith('CN='));
    const named = certifiedNodeId({ CN: names.length === 1 ? names[0]!.slice(3) : names });
    if (!('id' in named) || named.id !== ownId) {
      const problem = 'id' in named ? `names ${JSON.stringify(named.id)}` : `is refused: ${named.problem}`;
      throw new RangeError(`the TLS certificate of node ${JSON.stringify(ownId)} ${problem}`);
    }
  }

  createServer(hooks: ServerHooks): Server {
    // Connections in their TLS handshake, by remote address and port: they count against the limit too.
    const handshaking = new Map<string, Socket>();
    const server = createServer(
      {
        ...this.own,
        minVersion: MIN_VERSION,
        requestCert: true,
        // Checked below rather than by Node, to say why a peer was refused.
        rejectUnauthorized: false,
        handshakeTimeout: this.handshakeTimeoutMs,
      },
      (socket) => {
        handshaking.delete(remoteOf(socket));
        const refusal = this.whyRefuse(socket);
        if (refusal !== undefined) {
          hooks.counters.authFailures++;
          hooks.log(`refused a TLS connection from ${remoteOf(socket)}: ${refusal}`);
          refuse(socket);
          return;
        }
        this.secured.add(socket);
        hooks.accept(socket);
      },
    );
    server.on('connection', (raw: Socket) => {
      if (!hooks.admit(raw)) {
        refuse(raw);
        return;
      }
      const remote = remoteOf(raw);
      handshaking.set(remote, raw);
      raw.once('close', () => {
        if (handshaking.get(remote) === raw) handshaking.delete(remote);
      });
    });
    server.on('tlsClientError', (error, socket) => {
      // A connection refused above is not in the map any more: its reset is no news.
      if (!handshaking.delete(remoteOf(socket))) return;
      const timedOut = (error as NodeJS.ErrnoException).code === 'ERR_TLS_HANDSHAKE_TIMEOUT';
      if (timedOut) hooks.counters.handshakeTimeouts++;
      else hooks.counters.authFailures++;
      hooks.log(`TLS handshake with ${remoteOf(socket)} failed: ${reasonOf(error)}`);
    });
    return server;
  }

  connect({ host, port }: PeerAddress, peerId: NodeId): Socket {
    const socket: TLSSocket = connect({
      host,
      port,
      secureContext: this.context,
      minVersion: MIN_VERSION,
      // Peers are known by their node id, not by a host name: the certificate must name the one dialled.
      checkServerIdentity: (_host: string, certificate: PeerCertificate) => {
        const named = certifiedNodeId(certificate.subject);
        if ('id' in named && named.id === peerId) return undefined;
        const names = 'id' in named ? `names ${JSON.stringify(named.id)}` : named.problem;
        return Object.assign(new Error(`the certificate at the address of ${peerId} ${names}`), {
          code: 'ERR_PURERAFT_PEER_IDENTITY',
        });
      },
    });
    socket.once('secureConnect', () => this.secured.add(socket));
    return socket;
  }

  credentials(socket: Socket): HandshakeCredentials {
    const tls = socket as TLSSocket;
    return {
      secret: () => new Uint8Array(tls.exportKeyingMaterial(EXPORTED_BYTES, EXPORTER_LABEL, Buffer.alloc(0))),
      certifiedPeer: () => {
        const named = certifiedNodeId(tls.getPeerCertificate().subject);
        // Both sides refused such a certificate before the handshake began.
        if (!('id' in named)) throw new Error(named.problem);
        return named.id;
      },
      sealFrames: false,
    };
  }

  describe(error: Error, socket: Socket): SocketFailure {
    const { code = '', syscall } = error as NodeJS.ErrnoException;
    const text = `TLS: ${reasonOf(error)}`;
    if (!this.secured.has(socket)) {
      // Before the handshake completed, an error that is not the network's is a refused certificate.
      const network = syscall !== undefined || code === 'ECONNRESET';
      return network ? { text: error.message } : { text, counter: 'authFailures' };
    }
    // After it, OpenSSL refusing a record is bytes changed or injected on the way; an alert is the peer
    // saying it refused ours (and counted it).
    if (code.startsWith('ERR_SSL_') && !code.includes('_ALERT_')) return { text, counter: 'forgedFrames' };
    return { text };
  }

  /** Why an accepted connection's certificate is refused, if it is. */
  private whyRefuse(socket: TLSSocket): string | undefined {
    if (!socket.authorized)
      return `its certificate is not signed by the cluster's CA (${socket.authorizationError})`;
    const named = certifiedNodeId(socket.getPeerCertificate().subject);
    return 'id' in named ? undefined : named.problem;
  }
}

/** A connection's peer address, `host:port`: what names a connection before it authenticates. */
export function remoteOf(socket: Socket): string {
  return `${socket.remoteAddress}:${socket.remotePort}`;
}

/** OpenSSL's short reason ("decryption failed or bad record mac") rather than its whole error line. */
function reasonOf(error: Error): string {
  const { reason } = error as { reason?: unknown };
  return typeof reason === 'string' ? reason : error.message;
}
