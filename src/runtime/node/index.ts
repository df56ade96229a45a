/** The real runtime: a Raft node driven by a queue of events, over storage, network, timers and a service. */
export {
  NodeStoppedError,
  NotLeaderError,
  OverloadedError,
  ProposalLostError,
  ProposalTimeoutError,
  StorageUnavailableError,
} from './errors.js';
export { type NodeStatus, RaftNode, type RaftNodeOptions, type RaftNodeStats } from './node.js';
export { type ReplayedStep, replay } from './replay.js';
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
