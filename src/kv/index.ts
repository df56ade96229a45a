/** The replicated key-value service: its state machine, its HTTP API, and a node assembled from both. */

export { type Address, formatAddress, parseHostPort, whyBadAddress } from './address.js';
export { AddressBook, type MemberAddresses, type MemberRecord } from './address-book.js';
export { type ApiAuth, ApiTokens, type Role } from './api-auth.js';
export { Batcher, type BatcherOptions } from './batcher.js';
export {
  type ChangeAnswer,
  ClusterAdmin,
  type ClusterView,
  type LearnerRequest,
  type MemberView,
  PROMOTE_MAX_LAG,
} from './cluster-admin.js';
export {
  checkCommand,
  type KvCommand,
  type KvEntry,
  type KvEntryResult,
  type KvOperation,
  type KvResult,
  type KvSession,
  MAX_CLIENT_ID_LENGTH,
} from './commands.js';
export { type ClusterApi, type KvHttpOptions, KvHttpServer } from './http.js';
export {
  type ClusterMember,
  clusterConfigs,
  DEFAULT_ELECTION_TIMEOUT,
  DEFAULT_HEARTBEAT_INTERVAL,
  DEFAULT_KV_SNAPSHOT_POLICY,
  KV_WAL_SEGMENT_BYTES,
  KvNode,
  type KvNodeConfig,
  LATENCY_TRACE_ENV,
  type Member,
  type TlsFiles,
} from './kv-node.js';
export { DEFAULT_LIMITS, HttpError, type RequestLimits } from './request.js';
export { DEFAULT_MAX_SESSIONS, SessionTable } from './sessions.js';
export { KV_SNAPSHOT_VERSION, KvSnapshotError } from './snapshot-format.js';
export { KvStateMachine } from './state-machine.js';
