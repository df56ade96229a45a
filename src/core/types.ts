/**
 * The public types of the core, as fixed by CONTRACT.md. Everything here is plain data except `RaftState`,
 * which is opaque to embedders: read it through `status()`.
 */
import type { RaftLog } from './log.js';
import type { Configs } from './membership.js';
import type { Tracker } from './progress.js';

export type NodeId = string;

export interface Config {
  readonly id: NodeId;
  /** Voting members of the initial configuration, `id` included. */
  readonly voters: readonly NodeId[];
  /** Election timeout, randomized uniformly in [min, max) (milliseconds, or any unit the runtime uses). */
  readonly electionTimeout: readonly [min: number, max: number];
  /** How often a leader with nothing new to send sends a heartbeat. */
  readonly heartbeatInterval: number;
  /** Seed of the node's own pseudo-random generator; the generator's state lives in RaftState. */
  readonly seed: number;
  /** Most entries in one AppendEntries. Default 64. */
  readonly maxEntriesPerAppend?: number;
  /**
   * Most bytes in one AppendEntries: commands as `commandSize` measures them, configurations by their ids; one
   * entry always fits. Default 1 MiB.
   */
  readonly maxBytesPerAppend?: number;
  /** Most AppendEntries carrying entries in flight to one follower that is keeping up. Default 4. */
  readonly maxInflightAppends?: number;
  /**
   * The size of a command in bytes, for `maxBytesPerAppend`. Must be pure. Default: a string's UTF-8 bytes,
   * the byteLength of a Uint8Array, otherwise the UTF-8 bytes of its JSON text.
   */
  readonly commandSize?: (command: unknown) => number;
  /** Learners of the initial configuration: they receive the log and never vote or count. Default []. */
  readonly learners?: readonly NodeId[];
  /**
   * Thesis §9.6: a node whose election timer fires first asks whether it could win (a pre-vote, which
   * neither raises its term nor persists anything); only a pre-vote majority starts a real election.
   * Default true.
   */
  readonly preVote?: boolean;
  /**
   * Thesis §6.2, §4.2.3: a leader that has not heard from a majority within an election timeout steps down,
   * and a node that heard from a live leader within the minimum election timeout ignores vote requests
   * (except those a leadership transfer asked for): until its own election timer fires, so for at least the
   * minimum election timeout and at most the maximum. Default true.
   */
  readonly checkQuorum?: boolean;
  /**
   * Lease reads (thesis §6.4.1): a leader whose lease holds answers a read at once, without a round of
   * confirmation. Sound only if every node runs with it (a node then withholds its vote for a whole election
   * timeout after it hears from a leader, or restarts), with `checkQuorum`, with no node's minimum election
   * timeout shorter than the leader's (the lease is measured by the leader's own), and if timers keep the
   * clock assumption written in reads.ts. Default false.
   */
  readonly leaseReads?: boolean;
}

/**
 * The configuration in force (§6). A decision needs a majority of `voters`, and during a joint change also a
 * majority of `outgoing` (the old voters). Learners receive the log and never vote or count.
 */
export interface Membership {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly outgoing?: readonly NodeId[];
}

/** What a snapshot stands for (§7): the log through `index` (whose term is `term`), applied, with the
 *  configuration in force at `index`. */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly membership: Membership;
}

/** `data` is the service's: the core never reads, copies, compares or changes it. It is plain data, or a
 *  reference that the runtime can resolve (a file name and a checksum), so that a trace stays serializable. */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: unknown;
}

export interface HardState {
  readonly term: number;
  readonly votedFor: NodeId | null;
}

export type EntryKind = 'command' | 'noop' | 'config';

export interface Entry<C> {
  /** 1-based, contiguous. */
  readonly index: number;
  readonly term: number;
  readonly kind: EntryKind;
  /** Present exactly when kind === 'command'. */
  readonly command?: C;
  /** Present exactly when kind === 'config': the configuration this entry puts in force (§6). */
  readonly membership?: Membership;
}

/** What storage holds for a node, as rebuilt from every `persist` effect it executed. */
export interface Durable<C> {
  readonly hardState: HardState;
  /** Contiguous, ascending; from `snapshot.meta.index + 1` when there is a snapshot, else from 1. */
  readonly entries: readonly Entry<C>[];
  readonly snapshot?: Snapshot;
}

/** Every message carries at least these; a response's type ends in 'Response'. */
export interface MessageBase {
  readonly type: string;
  readonly term: number;
  readonly from: NodeId;
  readonly to: NodeId;
}

/** §5.2: a candidate asks for a vote; the last log position is for the election restriction (§5.4.1). */
export interface RequestVote extends MessageBase {
  readonly type: 'RequestVote';
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /** Thesis §3.10: sent by the target of a leadership transfer, so it bypasses leader stickiness. */
  readonly transfer: boolean;
}

/**
 * Thesis §9.6: "could I win?". `term` is the term the sender would campaign in (its own term + 1); neither
 * side raises its term for a pre-vote, and a grant promises nothing.
 */
export interface PreVote extends MessageBase {
  readonly type: 'PreVote';
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
}

/** `term` echoes the pre-vote's term when granted, and is the responder's own term when refused. */
export interface PreVoteResponse extends MessageBase {
  readonly type: 'PreVoteResponse';
  readonly voteGranted: boolean;
}

export interface RequestVoteResponse extends MessageBase {
  readonly type: 'RequestVoteResponse';
  readonly voteGranted: boolean;
}

/** §5.3: replicate entries after (prevLogIndex, prevLogTerm); with no entries it is a heartbeat. */
export interface AppendEntries<C> extends MessageBase {
  readonly type: 'AppendEntries';
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly Entry<C>[];
  readonly leaderCommit: number;
  /** The leader's confirmation round when it sent this (ReadIndex, thesis §6.4); echoed in the answer. */
  readonly round: number;
}

/**
 * On success, `index` is the last index the follower now knows to match the leader's log.
 * On rejection, `index` is the rejected `prevLogIndex`, and the conflict hint lets the leader skip a whole
 * term per round trip (§5.3, the optimization the paper sketches): `conflictTerm` is the follower's term at
 * `prevLogIndex` (0 when its log is shorter) and `conflictIndex` the first index of that term in its log
 * (its last index + 1 when shorter). Both are 0 on success.
 */
export interface AppendEntriesResponse extends MessageBase {
  readonly type: 'AppendEntriesResponse';
  readonly success: boolean;
  readonly index: number;
  readonly conflictTerm: number;
  readonly conflictIndex: number;
  /** The `round` of the AppendEntries this answers. */
  readonly round: number;
}

/** §7: the leader sends its latest snapshot to a follower whose next entry it has compacted away. */
export interface InstallSnapshot extends MessageBase {
  readonly type: 'InstallSnapshot';
  readonly snapshot: Snapshot;
  readonly round: number;
}

/** `index`: the follower's commit index after handling the snapshot (at least the snapshot's index when it
 *  was installed or already covered); its log matches the leader's through there. */
export interface InstallSnapshotResponse extends MessageBase {
  readonly type: 'InstallSnapshotResponse';
  readonly index: number;
  readonly round: number;
}

/** Thesis §3.10: the leader tells the target of a leadership transfer to start an election at once. */
export interface TimeoutNow extends MessageBase {
  readonly type: 'TimeoutNow';
}

export type Message<C> =
  | RequestVote
  | RequestVoteResponse
  | PreVote
  | PreVoteResponse
  | AppendEntries<C>
  | AppendEntriesResponse
  | InstallSnapshot
  | InstallSnapshotResponse
  | TimeoutNow;
export type MessageType = Message<unknown>['type'];

export type Event<C> =
  /** A timer this node armed has fired. */
  | { readonly type: 'timeout'; readonly timer: string }
  /** A message from another node. */
  | { readonly type: 'receive'; readonly message: Message<C> }
  /** A client asks to replicate a command. */
  | { readonly type: 'propose'; readonly command: C }
  /** The service captured its state through `index` (contract 10): keep it as the latest snapshot, compact. */
  | { readonly type: 'snapshot'; readonly index: number; readonly data: unknown }
  /** Change the configuration through joint consensus (contract 14). */
  | {
      readonly type: 'changeMembership';
      readonly voters: readonly NodeId[];
      readonly learners?: readonly NodeId[];
    }
  /** Hand leadership to `to` (contract 15, thesis §3.10). */
  | { readonly type: 'transferLeadership'; readonly to: NodeId }
  /** A linearizable read (contract 16, ReadIndex, thesis §6.4); answered by `readReady` or `readFailed`. */
  | { readonly type: 'read'; readonly id: string };

export type Effect<C> =
  | { readonly type: 'setTimer'; readonly timer: string; readonly delay: number }
  | { readonly type: 'cancelTimer'; readonly timer: string }
  | {
      readonly type: 'persist';
      readonly hardState?: HardState;
      readonly snapshot?: Snapshot;
      readonly truncateFrom?: number;
      readonly entries?: readonly Entry<C>[];
    }
  | { readonly type: 'send'; readonly message: Message<C> }
  | { readonly type: 'apply'; readonly entries: readonly Entry<C>[] }
  /** Replace the service's whole state with the snapshot's (contract 12). */
  | { readonly type: 'restore'; readonly snapshot: Snapshot }
  /** The read may be answered once the service has applied through `index` (contract 16). */
  | { readonly type: 'readReady'; readonly id: string; readonly index: number }
  | { readonly type: 'readFailed'; readonly id: string; readonly leaderId: NodeId | null };

export type Role = 'follower' | 'candidate' | 'leader' | 'learner';

export interface Status {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly votedFor: NodeId | null;
  readonly leaderId: NodeId | null;
  readonly commitIndex: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly membership: Membership;
  /** Index of the latest snapshot; 0 when there is none. */
  readonly snapshotIndex: number;
  /** The target of a leadership transfer in progress on this leader, else null. */
  readonly transferring: NodeId | null;
}

/** A config with every optional field settled. */
export interface Settings {
  readonly id: NodeId;
  /** The configuration the node starts with when its storage holds none (no snapshot, no config entry). */
  readonly initialMembership: Membership;
  readonly electionTimeout: readonly [min: number, max: number];
  readonly heartbeatInterval: number;
  readonly maxEntriesPerAppend: number;
  readonly maxBytesPerAppend: number;
  readonly maxInflightAppends: number;
  /**
   * The config's own `commandSize`; absent for the default (settings.ts), so that a state holds no function and
   * `structuredClone` does not throw on it (a clone drops the private fields of the log, configurations and
   * progress, so it is no state to step).
   */
  readonly commandSize?: (command: unknown) => number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly leaseReads: boolean;
  /** How long a leader's lease lasts from the start of the round that confirms it (reads.ts); 0 when off. */
  readonly leaseDuration: number;
}

/**
 * Flow control for one follower, as the leader sees it (etcd's tracker.Progress, simplified).
 * - probe: the leader does not know where the follower's log matches; one AppendEntries at a time, retried
 *   on every heartbeat, walking `next` back on each rejection.
 * - replicate: the follower is keeping up; the leader streams entries optimistically from `next`, with at
 *   most `maxInflightAppends` unacknowledged messages.
 * - snapshot: the follower needs an entry the leader has compacted away; a snapshot is on its way, and nothing
 *   else is sent until the follower answers or an election timeout passes (then it is sent again).
 */
export interface Progress {
  readonly state: 'probe' | 'replicate' | 'snapshot';
  /** Highest index known to be replicated on the follower (Figure 2, matchIndex). */
  readonly match: number;
  /** Index of the next entry to send (Figure 2, nextIndex). */
  readonly next: number;
  /** probe: a probe is outstanding, so wait for its answer or the next heartbeat. */
  readonly probeSent: boolean;
  /** replicate: the last index of each unacknowledged AppendEntries, ascending. */
  readonly inflight: readonly number[];
  /** `match` at the previous heartbeat, and how many heartbeats in a row found appends (or a snapshot) in
   * flight and no progress since the one before: to detect lost messages. */
  readonly matchAtLastHeartbeat: number;
  readonly heartbeatsWithoutProgress: number;
  /** Check-quorum: the follower was heard from since the last check. */
  readonly recentActive: boolean;
  /** ReadIndex: the highest confirmation round the follower has answered in this term. */
  readonly ackedRound: number;
  /** The leader's round when `match` last moved: an append sent in a later round was sent knowing it. */
  readonly matchRound: number;
}

/** A read waiting for a round of confirmation (ReadIndex, thesis §6.4). */
export interface PendingRead {
  readonly id: string;
  /** The confirmation round that must be acknowledged by a majority: one that started after the read arrived. */
  readonly round: number;
}

/** The node's role inside the core; `status` reports a pre-candidate as a follower (or learner). */
export type CoreRole = 'follower' | 'precandidate' | 'candidate' | 'leader';

/** The whole state of one node. Opaque to embedders: read it through `status()`. */
export interface RaftState<C> {
  readonly settings: Settings;
  readonly role: CoreRole;
  /** Persistent (Figure 2): latest term seen, and whom this node voted for in it. */
  readonly term: number;
  readonly votedFor: NodeId | null;
  /**
   * The leader of the current term, once heard from. Also leader stickiness (thesis §4.2.3): a node that knows
   * a live leader ignores vote requests until its own election timer fires, which clears this.
   */
  readonly leaderId: NodeId | null;
  /** The log: a persistent structure outside immer's copy-on-write (see log.ts). */
  readonly log: RaftLog<C>;
  /** The configurations in the log (membership.ts). */
  readonly configs: Configs;
  /** Volatile (Figure 2). */
  readonly commitIndex: number;
  /** Last index handed out in an `apply` or `restore` effect in this incarnation. */
  readonly appliedIndex: number;
  /** State of the node's pseudo-random generator (rng.ts). */
  readonly rng: number;
  /** Candidate and pre-candidate: the voters that granted their (pre-)vote in this election. */
  readonly votesGranted: readonly NodeId[];
  /** Candidate and pre-candidate: the voters that refused. */
  readonly votesRefused: readonly NodeId[];
  /**
   * Pre-candidate that was a candidate in this term: the voters that granted it their vote then, so that grants
   * arriving after its election timer sent it back to a pre-vote still elect it in this term (election.ts,
   * `tallyLateGrant`; raft.ts, `becomeLeaderLate`). Empty otherwise.
   */
  readonly candidacyGrants: readonly NodeId[];
  /** Leader: flow control per follower and learner (progress.ts: outside immer's drafts). */
  readonly progress: Tracker;
  /** Leader: the target of a leadership transfer in progress (thesis §3.10). */
  readonly transferee: NodeId | null;
  /** Leader: the current confirmation round, carried by every AppendEntries (ReadIndex, check-quorum). */
  readonly round: number;
  /** Leader: reads waiting for confirmation, in arrival order (so in order of round). */
  readonly pendingReads: readonly PendingRead[];
  /**
   * Leader, lease reads: the round whose start armed the pending lease timer, which the lease is measured from
   * (reads.ts); 0 when no lease timer is pending.
   */
  readonly leaseRound: number;
  /** Leader, lease reads: a transfer was asked for in this term, so no lease holds again in it (reads.ts). */
  readonly leaseForfeited: boolean;
  /**
   * Lease reads (thesis §6.4.1): this node heard from a leader, or restarted, and its election timer has not
   * fired since: it votes for no one else, except a transfer's candidate, so that the leader's lease holds.
   * Unlike `leaderId`, a higher term from a message that names no leader does not clear it.
   */
  readonly votesWithheld: boolean;
}
