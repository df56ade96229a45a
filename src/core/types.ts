/**
 * The public types of the core, as fixed by CONTRACT.md. Everything here is plain data except `RaftState`,
 * which is opaque to embedders: read it through `status()`.
 */
import type { RaftLog } from './log.js';

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
  /** Most command bytes (as measured by `commandSize`) in one AppendEntries; one entry always fits. Default 1 MiB. */
  readonly maxBytesPerAppend?: number;
  /** Most AppendEntries carrying entries in flight to one follower that is keeping up. Default 4. */
  readonly maxInflightAppends?: number;
  /**
   * The size of a command in bytes, for `maxBytesPerAppend`. Must be pure. Default: the length of a string,
   * the byteLength of a Uint8Array, otherwise the length of its JSON text.
   */
  readonly commandSize?: (command: unknown) => number;
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
}

/** What storage holds for a node, as rebuilt from every `persist` effect it executed. */
export interface Durable<C> {
  readonly hardState: HardState;
  /** Contiguous, ascending. */
  readonly entries: readonly Entry<C>[];
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
}

export type Message<C> = RequestVote | RequestVoteResponse | AppendEntries<C> | AppendEntriesResponse;
export type MessageType = Message<unknown>['type'];

export type Event<C> =
  /** A timer this node armed has fired. */
  | { readonly type: 'timeout'; readonly timer: string }
  /** A message from another node. */
  | { readonly type: 'receive'; readonly message: Message<C> }
  /** A client asks to replicate a command. */
  | { readonly type: 'propose'; readonly command: C };

export type Effect<C> =
  | { readonly type: 'setTimer'; readonly timer: string; readonly delay: number }
  | { readonly type: 'cancelTimer'; readonly timer: string }
  | {
      readonly type: 'persist';
      readonly hardState?: HardState;
      readonly truncateFrom?: number;
      readonly entries?: readonly Entry<C>[];
    }
  | { readonly type: 'send'; readonly message: Message<C> }
  | { readonly type: 'apply'; readonly entries: readonly Entry<C>[] };

export type Role = 'follower' | 'candidate' | 'leader';

export interface Status {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly votedFor: NodeId | null;
  readonly leaderId: NodeId | null;
  readonly commitIndex: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
}

/** A config with every optional field settled. */
export interface Settings {
  readonly id: NodeId;
  readonly voters: readonly NodeId[];
  readonly electionTimeout: readonly [min: number, max: number];
  readonly heartbeatInterval: number;
  readonly maxEntriesPerAppend: number;
  readonly maxBytesPerAppend: number;
  readonly maxInflightAppends: number;
  readonly commandSize: (command: unknown) => number;
}

/**
 * Flow control for one follower, as the leader sees it (etcd's tracker.Progress, simplified).
 * - probe: the leader does not know where the follower's log matches; one AppendEntries at a time, retried
 *   on every heartbeat, walking `next` back on each rejection.
 * - replicate: the follower is keeping up; the leader streams entries optimistically from `next`, with at
 *   most `maxInflightAppends` unacknowledged messages.
 */
export interface Progress {
  readonly state: 'probe' | 'replicate';
  /** Highest index known to be replicated on the follower (Figure 2, matchIndex). */
  readonly match: number;
  /** Index of the next entry to send (Figure 2, nextIndex). */
  readonly next: number;
  /** probe: a probe is outstanding, so wait for its answer or the next heartbeat. */
  readonly probeSent: boolean;
  /** replicate: the last index of each unacknowledged AppendEntries, ascending. */
  readonly inflight: readonly number[];
  /** `match` at the previous heartbeat, and how many heartbeats in a row found appends in flight and no
   * progress since the one before: to detect lost appends. */
  readonly matchAtLastHeartbeat: number;
  readonly heartbeatsWithoutProgress: number;
}

/** The whole state of one node. Opaque to embedders: read it through `status()`. */
export interface RaftState<C> {
  readonly settings: Settings;
  readonly role: Role;
  /** Persistent (Figure 2): latest term seen, and whom this node voted for in it. */
  readonly term: number;
  readonly votedFor: NodeId | null;
  readonly leaderId: NodeId | null;
  /** The log: a persistent structure outside immer's copy-on-write (see log.ts). */
  readonly log: RaftLog<C>;
  /** Volatile (Figure 2). */
  readonly commitIndex: number;
  /** Last index handed out in an `apply` effect in this incarnation. */
  readonly appliedIndex: number;
  /** State of the node's pseudo-random generator (rng.ts). */
  readonly rng: number;
  /** Candidate: the voters that granted their vote in this term. */
  readonly votesGranted: readonly NodeId[];
  /** Candidate: the voters that refused. */
  readonly votesRefused: readonly NodeId[];
  /** Leader: flow control per follower. */
  readonly progress: Readonly<Record<NodeId, Progress>>;
}
