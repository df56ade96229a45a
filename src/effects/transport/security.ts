/**
 * How peers prove who they are, the part of the transport that differs between its two modes:
 * - shared secret (here): plain TCP; the handshake proves the cluster secret and keys the sealing of every
 *   later frame (sealing.ts). Whoever holds the secret can claim any member's id.
 * - mutual TLS (tls.ts): each node's id is the one its certificate names; TLS protects the frames.
 * Everything else (framing, the handshake's shape, membership, queues, snapshots) is the same in both.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { NodeId } from '../../core/index.js';
import { type HandshakeCredentials, secretCredentials } from './handshake.js';
import type { Counters } from './stats.js';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export interface ServerHooks {
  /**
   * Whether to take a new connection, as soon as it is made (before a TLS handshake): the transport keeps the
   * connections not yet authenticated bounded (each holds memory), closing the oldest for a new one.
   */
  admit(socket: Socket): boolean;
  /** A connection ready for the handshake (handshake.ts). */
  accept(socket: Socket): void;
  readonly counters: Counters;
  readonly log: (line: string) => void;
}

/** What is counted against a socket error: the peer failed to authenticate, or sent bytes that fail theirs. */
export interface SocketFailure {
  readonly text: string;
  readonly counter?: 'authFailures' | 'forgedFrames';
}

export interface PeerSecurity {
  readonly mode: 'shared secret' | 'mutual TLS';
  /** A server for the connections peers open; not yet listening. */
  createServer(hooks: ServerHooks): Server;
  /** A new connection to `peerId` at `address`; throws on a malformed address. */
  connect(address: PeerAddress, peerId: NodeId): Socket;
  /** The handshake credentials of a socket from `connect` or handed to `accept`. */
  credentials(socket: Socket): HandshakeCredentials;
  /** How to log (and count) an error the socket reported. */
  describe(error: Error, socket: Socket): SocketFailure;
}

export class SharedSecret implements PeerSecurity {
  readonly mode = 'shared secret';
  private readonly credentialsOf: HandshakeCredentials;

  constructor(secret: Uint8Array) {
    if (secret.length === 0) throw new RangeError('the cluster secret must not be empty');
    this.credentialsOf = secretCredentials(Uint8Array.from(secret));
  }

  createServer(hooks: ServerHooks): Server {
    return createServer((socket) => {
      if (hooks.admit(socket)) hooks.accept(socket);
      else refuse(socket);
    });
  }

  connect({ host, port }: PeerAddress): Socket {
    return connect({ host, port });
  }

  credentials(): HandshakeCredentials {
    return this.credentialsOf;
  }

  describe(error: Error): SocketFailure {
    return { text: error.message };
  }
}

/** Closes a connection the server will not take. */
export function refuse(socket: Socket): void {
  // Without a listener an error on this socket (a reset, say) would be thrown as an uncaught exception.
  socket.on('error', () => {});
  socket.destroy();
}
