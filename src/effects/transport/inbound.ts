/**
 * A connection a peer opened to us: the incoming half of the conversation. It delivers nothing until the
 * peer has proved who it is (handshake.ts) and turned out to be a member; afterwards it carries what the peer
 * opened it for:
 * - messages: only valid messages from that peer to this node are delivered. A frame that does not decode is
 *   logged and dropped but the connection stays: the length prefix kept the stream in step, and a peer running
 *   a newer protocol version should not lose the messages this one understands.
 * - a snapshot: one transfer (snapshot-receive.ts), delivered as one InstallSnapshot once it arrived whole.
 */
import type { Socket } from 'node:net';
import type { Message, NodeId } from '../../core/index.js';
import type { CommandCodec } from '../binary.js';
import { decodeMessage, type MessageLimits } from './codec.js';
import { type ConnectionContext, FramedConnection } from './connection.js';
import { AcceptorHandshake, type ConnectionPurpose } from './handshake.js';
import { IncomingTransfer, type SnapshotReceiveOptions } from './snapshot-receive.js';

export interface InboundOptions<C> extends ConnectionContext {
  readonly codec: CommandCodec<C>;
  readonly limits: MessageLimits;
  readonly maxFrameBytes: number;
  /** Without them, snapshot transfers are refused. */
  readonly snapshots: SnapshotReceiveOptions | undefined;
  /** A snapshot transfer that reads or writes nothing for this long is abandoned. */
  readonly snapshotIdleTimeoutMs: number;
  /** Whether `id` is a member, whom this node takes connections from. */
  readonly isMember: (id: NodeId) => boolean;
  /** Whether refusing the non-member `id` now is the first time (logged), not a repeat (only counted). */
  readonly firstRefusal: (id: NodeId) => boolean;
  readonly deliver: (message: Message<C>) => void;
  readonly authenticated: (connection: InboundConnection<C>) => void;
  readonly closed: (connection: InboundConnection<C>) => void;
}

export class InboundConnection<C> {
  /** The peer's id and what the connection carries, once the peer has authenticated. */
  peerId: NodeId | undefined;
  purpose: ConnectionPurpose | undefined;
  private readonly connection: FramedConnection;
  /** Handles the frames after the handshake. */
  private receive: ((payload: Uint8Array) => void) | undefined;
  private transfer: IncomingTransfer<C> | undefined;

  constructor(socket: Socket, options: InboundOptions<C>) {
    const handshake = new AcceptorHandshake(options.ownId, options.security.credentials(socket));
    this.connection = new FramedConnection(
      socket,
      options,
      `connection from ${socket.remoteAddress}:${socket.remotePort}`,
      {
        onFrame: (payload) => {
          if (this.receive === undefined) this.authenticate(handshake, payload, options);
          else this.receive(payload);
        },
        onClose: () => {
          this.transfer?.closed();
          options.closed(this);
        },
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
    const { peerId, purpose } = outcome;
    if (!options.isMember(peerId)) {
      options.counters.authFailures++;
      this.connection.close(
        options.firstRefusal(peerId)
          ? `refusing ${JSON.stringify(peerId)}: not a member of the cluster (its next attempts are refused without a word)`
          : undefined,
      );
      return;
    }
    if (outcome.reply !== undefined) this.connection.write(outcome.reply);
    this.connection.authenticated(options.maxFrameBytes, outcome.keys);
    this.peerId = peerId;
    this.purpose = purpose;
    options.counters.connectionsAccepted++;
    if (purpose === 'messages') {
      this.connection.label = `connection from ${peerId}`;
      this.receive = (frame) => this.receiveMessage(frame, peerId, options);
    } else {
      this.connection.label = `snapshot connection from ${peerId}`;
      const { snapshots } = options;
      if (snapshots === undefined) {
        options.counters.snapshotsFailed++;
        this.connection.close('refusing a snapshot: this node has no snapshot store');
        return;
      }
      this.connection.closeWhenIdle(options.snapshotIdleTimeoutMs);
      const transfer = new IncomingTransfer(this.connection, { ...options, ...snapshots, peerId });
      this.transfer = transfer;
      this.receive = (frame) => transfer.receive(frame);
    }
    options.authenticated(this);
  }

  private receiveMessage(payload: Uint8Array, peerId: NodeId, options: InboundOptions<C>): void {
    const { counters, log } = options;
    counters.framesReceived++;
    const result = decodeMessage(payload, options.codec, options.limits);
    if (!result.ok) {
      counters.decodeErrors++;
      log(`${this.connection.label}: dropped a frame that does not decode: ${result.error}`);
      return;
    }
    const { message } = result;
    if (message.type === 'InstallSnapshot') {
      // Its data travels on a connection of its own: here it would arrive without any.
      counters.decodeErrors++;
      log(`${this.connection.label}: dropped an InstallSnapshot outside a snapshot transfer`);
      return;
    }
    if (message.from !== peerId || message.to !== options.ownId) {
      counters.misaddressed++;
      log(`${this.connection.label}: dropped ${message.type} from ${message.from} to ${message.to}`);
      return;
    }
    options.deliver(message);
  }
}
