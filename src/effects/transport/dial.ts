/**
 * Opening a connection to a peer: connect (in TLS mode, to the node the certificate names), then prove
 * ourselves and check the peer's proof (handshake.ts) before anything else is sent. Shared by the message link
 * to each peer and by snapshot transfers.
 */
import type { Socket } from 'node:net';
import type { NodeId } from '../../core/index.js';
import { describeError } from './codec.js';
import { type ConnectionContext, FramedConnection } from './connection.js';
import { type ConnectionPurpose, ConnectorHandshake } from './handshake.js';
import type { PeerAddress } from './security.js';

export type { PeerAddress } from './security.js';

export interface DialOptions extends ConnectionContext {
  readonly peerId: NodeId;
  readonly address: PeerAddress;
  readonly purpose: ConnectionPurpose;
  /** Largest frame accepted from the peer once it is authenticated. */
  readonly maxFrameBytes: number;
}

export interface DialEvents {
  /** The peer proved it holds the secret: the connection may carry what it was opened for. */
  onOpen(): void;
  /** A frame from the peer after the handshake. Without this handler such a frame closes the connection. */
  onFrame?(payload: Uint8Array): void;
  /** The socket can take more writes after `write` returned false. */
  onDrain?(): void;
  /** The connection is closed, for whatever reason (also when it never opened); called once. */
  onClose(): void;
}

/** The new connection, or undefined (logged, and no event follows) when the address is malformed. */
export function dial(options: DialOptions, events: DialEvents): FramedConnection | undefined {
  const { peerId, purpose, counters, log } = options;
  const { host, port } = options.address;
  const where = `${peerId} at ${host}:${port}`;
  let socket: Socket;
  try {
    socket = options.security.connect({ host, port }, peerId);
  } catch (error) {
    log(`cannot connect to ${where}: ${describeError(error)}`);
    return undefined;
  }
  const credentials = options.security.credentials(socket);
  const handshake = new ConnectorHandshake(options.ownId, peerId, credentials, purpose);
  let open = false;
  const label = purpose === 'messages' ? `connection to ${where}` : `${purpose} connection to ${where}`;
  const connection: FramedConnection = new FramedConnection(socket, options, label, {
    onFrame: (payload) => {
      if (open) {
        if (events.onFrame === undefined) connection.close('the acceptor sent a frame after the handshake');
        else events.onFrame(payload);
        return;
      }
      const outcome = handshake.receive(payload);
      if (outcome.kind === 'failed') {
        counters.authFailures++;
        connection.close(`handshake failed: ${outcome.reason}`);
      } else if (outcome.kind === 'continue') {
        connection.write(outcome.reply);
      } else {
        connection.authenticated(options.maxFrameBytes, outcome.keys);
        counters.connectionsOpened++;
        log(purpose === 'messages' ? `connected to ${where}` : `opened a ${label}`);
        open = true;
        events.onOpen();
      }
    },
    onDrain: () => events.onDrain?.(),
    onClose: () => events.onClose(),
  });
  return connection;
}
