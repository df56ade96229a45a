/**
 * A connection a peer opened to us: the incoming half of the conversation. It delivers nothing until the
 * peer has proved it holds the cluster secret, and afterwards only valid messages from that peer to this node.
 * A frame that does not decode is logged and dropped but the connection stays: the length prefix kept the
 * stream in step, and a peer running a newer protocol version should not lose the messages this one understands.
 */
import type { Socket } from 'node:net';
import type { Message, NodeId } from '../../core/index.js';
import type { CommandCodec } from '../binary.js';
import { decodeMessage, type MessageLimits } from './codec.js';
import { type ConnectionContext, FramedConnection } from './connection.js';
import { AcceptorHandshake } from './handshake.js';

export interface InboundOptions<C> extends ConnectionContext {
  readonly codec: CommandCodec<C>;
  readonly limits: MessageLimits;
  readonly maxFrameBytes: number;
  readonly deliver: (message: Message<C>) => void;
  readonly authenticated: (connection: InboundConnection<C>) => void;
  readonly closed: (connection: InboundConnection<C>) => void;
}

export class InboundConnection<C> {
  /** The peer's id, once it has authenticated. */
  peerId: NodeId | undefined;
  private readonly connection: FramedConnection;

  constructor(socket: Socket, options: InboundOptions<C>) {
    const handshake = new AcceptorHandshake(options.ownId, options.secret);
    this.connection = new FramedConnection(
      socket,
      options,
      `connection from ${socket.remoteAddress}:${socket.remotePort}`,
      {
        onFrame: (payload) => {
          if (this.peerId === undefined) this.authenticate(handshake, payload, options);
          else this.receive(payload, this.peerId, options);
        },
        onClose: () => options.closed(this),
      },
    );
    this.connection.write(handshake.hello);
  }

  close(reason?: string): Promise<void> {
    return this.connection.close(reason);
  }

  private authenticate(handshake: AcceptorHandshake, payload: Uint8Array, options: InboundOptions<C>): void {
    const outcome = handshake.receive(payload);
    if (outcome.kind !== 'authenticated') {
      options.counters.authFailures++;
      this.connection.close(
        outcome.kind === 'failed' ? `handshake failed: ${outcome.reason}` : 'handshake failed',
      );
      return;
    }
    if (outcome.reply !== undefined) this.connection.write(outcome.reply);
    this.connection.authenticated(options.maxFrameBytes);
    this.connection.label = `connection from ${outcome.peerId}`;
    this.peerId = outcome.peerId;
    options.counters.connectionsAccepted++;
    options.authenticated(this);
  }

  private receive(payload: Uint8Array, peerId: NodeId, options: InboundOptions<C>): void {
    const { counters, log } = options;
    counters.framesReceived++;
    const result = decodeMessage(payload, options.codec, options.limits);
    if (!result.ok) {
      counters.decodeErrors++;
      log(`${this.connection.label}: dropped a frame that does not decode: ${result.error}`);
      return;
    }
    const { message } = result;
    if (message.from !== peerId || message.to !== options.ownId) {
      counters.misaddressed++;
      log(`${this.connection.label}: dropped ${message.type} from ${message.from} to ${message.to}`);
      return;
    }
    options.deliver(message);
  }
}
