/** The network effect interpreter: how Raft messages travel between nodes. */
export { type BackoffBounds, DEFAULT_BACKOFF } from './backoff.js';
export {
  checkMessage,
  checkNodeId,
  DEFAULT_MAX_ENTRIES,
  type DecodeResult,
  decodeMessage,
  encodeMessage,
  MAX_NODE_ID_BYTES,
  type MessageLimits,
} from './codec.js';
export { MemoryNetwork, type MemoryNetworkOptions, type MemoryNetworkStats } from './memory.js';
export {
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_QUEUED_FRAMES,
  DEFAULT_MAX_SNAPSHOT_BYTES,
  DEFAULT_SNAPSHOT_CHUNK_BYTES,
  DEFAULT_SNAPSHOT_IDLE_TIMEOUT_MS,
  type PeerAddress,
  TcpTransport,
  type TcpTransportOptions,
  type TlsCredentials,
  type TransportStats,
} from './tcp.js';
export { certifiedNodeId } from './tls.js';
export type { Transport } from './transport.js';
