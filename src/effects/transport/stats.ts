/** Counters of a TCP transport, for the node's /metrics. Everything counts since the transport was created. */

export interface TransportStats {
  /** Message frames written to peers, and every byte written (handshakes and length prefixes included). */
  readonly framesSent: number;
  readonly bytesSent: number;
  /** Message frames read from authenticated peers, valid or not, and every byte read. */
  readonly framesReceived: number;
  readonly bytesReceived: number;
  /** Outgoing messages lost before reaching a socket: full queue, unknown peer, unencodable, or stopped. */
  readonly framesDropped: number;
  /** Incoming frames that did not decode into a valid message, dropped. */
  readonly decodeErrors: number;
  /** Incoming messages not from the authenticated peer or not addressed to this node, dropped. */
  readonly misaddressed: number;
  /** Incoming length prefixes over the frame limit; each closed its connection. */
  readonly oversizedFrames: number;
  /**
   * Connections refused before they carried anything, on either side: wrong secret, a certificate the CA did
   * not sign or that names another node, a peer that is not a member, malformed handshake frames.
   */
  readonly authFailures: number;
  /**
   * Frames (TLS: records) after the handshake that failed authentication: forged, changed, replayed,
   * reordered or injected on the way. Each closed its connection.
   */
  readonly forgedFrames: number;
  /** Connections closed for not completing the handshake in time (or, outgoing, not connecting). */
  readonly handshakeTimeouts: number;
  /** Connections still in their handshake closed for a newer one, with `maxPendingHandshakes` pending. */
  readonly handshakesEvicted: number;
  /** Exceptions thrown by message handlers, caught so that the network cannot crash the node. */
  readonly handlerErrors: number;
  /** Authenticated connections: accepted from peers, and opened to peers. */
  readonly connectionsAccepted: number;
  readonly connectionsOpened: number;
  /** Snapshot transfers the receiving peer confirmed, and the snapshot data bytes written to peers. */
  readonly snapshotsSent: number;
  readonly snapshotBytesSent: number;
  /** Snapshot transfers that arrived whole and checked (each delivered as one message), and the data bytes read. */
  readonly snapshotsReceived: number;
  readonly snapshotBytesReceived: number;
  /** Snapshot transfers, either way, that ended without delivery: interrupted, refused, corrupt or replaced. */
  readonly snapshotsFailed: number;
  /** Messages now waiting in the per-peer queues. */
  readonly queuedFrames: number;
}

export type Counters = { -readonly [K in Exclude<keyof TransportStats, 'queuedFrames'>]: number };

export function zeroCounters(): Counters {
  return {
    framesSent: 0,
    bytesSent: 0,
    framesReceived: 0,
    bytesReceived: 0,
    framesDropped: 0,
    decodeErrors: 0,
    misaddressed: 0,
    oversizedFrames: 0,
    authFailures: 0,
    forgedFrames: 0,
    handshakeTimeouts: 0,
    handshakesEvicted: 0,
    handlerErrors: 0,
    connectionsAccepted: 0,
    connectionsOpened: 0,
    snapshotsSent: 0,
    snapshotBytesSent: 0,
    snapshotsReceived: 0,
    snapshotBytesReceived: 0,
    snapshotsFailed: 0,
  };
}
