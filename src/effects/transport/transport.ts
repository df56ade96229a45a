/** How a runtime exchanges messages with its peers. Implementations: `MemoryNetwork` (tests), `TcpTransport`. */
import type { Message } from '../../core/index.js';

export interface Transport<C> {
  /** Best effort, never throws, never blocks: Raft tolerates loss. */
  send(message: Message<C>): void;
  /** Messages addressed to this node, decoded and validated. */
  onMessage(handler: (message: Message<C>) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * The largest command, as the core's `commandSize` measures it, that an AppendEntries can carry: a leader
   * could never send a bigger one, and its followers would never get past it. Proposals over it are refused.
   * Undefined: no limit.
   */
  readonly maxCommandBytes?: number;
  /**
   * How many snapshots are on their way to peers now: a snapshot counts until its peer has answered it (stored
   * and restored it), or a bound of time has passed. A leader defers compaction while one is (see
   * snapshot-policy.ts). Undefined: the transport carries a snapshot at once.
   */
  readonly snapshotsInFlight?: number;
  /**
   * Makes every peer see this node connect anew, as after a restart. RaftNode calls it when it starts its core
   * afresh in the same process (storage failed, then took writes again): a peer may have sent the old core
   * what it never answered, a snapshot say, and must not wait for that answer. Undefined: nothing to tell.
   */
  reconnect?(): void;
}
