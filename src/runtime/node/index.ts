/** The real runtime: a Raft node driven by a queue of events, over storage, network, timers and a service. */
export type { Applied, StateMachine } from '../../effects/apply/index.js';
export { type CommandCodec, jsonCodec } from '../../effects/binary.js';
export {
  CommandTooLargeError,
  NodeStoppedError,
  NotLeaderError,
  OverloadedError,
  ProposalLostError,
  ProposalOutcomeUnknownError,
  ProposalTimeoutError,
  RequestRefusedError,
  RequestTimeoutError,
  StorageUnavailableError,
  TransferFailedError,
} from './errors.js';
export {
  DEFAULT_LATENCY_LIMIT,
  type LatencyRecord,
  LatencyRecorder,
  type LatencyStage,
  parseLatencyRecords,
} from './latency.js';
export type { LeadershipStats } from './leadership-stats.js';
export {
  type MemberProgress,
  type MembershipChange,
  type NodeStatus,
  RaftNode,
  type RaftNodeOptions,
  type RaftNodeStats,
  type SnapshotStats,
} from './node.js';
export { type ReplayedStep, replay } from './replay.js';
export { DEFAULT_SNAPSHOT_POLICY, type SnapshotPolicy } from './snapshot-policy.js';
export {
  parseTrace,
  readTrace,
  type Trace,
  type TraceEvent,
  TraceFormatError,
  type TraceStart,
  TraceWriter,
  transitionDigest,
} from './trace.js';
