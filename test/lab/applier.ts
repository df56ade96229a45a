/**
 * The service side of the lab's snapshot applier (config.go's applierSnap and ingestSnap): when a server
 * takes a snapshot, what it puts in it, and what a server restoring one gets back.
 *
 * The lab encodes the command index and the applied log with labgob; here the snapshot's `data` is the same
 * two things as plain data. It must carry the command index because the core's snapshot index is a real log
 * index (no-ops and config entries count there), while the tester numbers commands (harness.ts).
 */
import type { Command } from './harness.js';

/** SnapShotInterval: a server snapshots after each command whose command index + 1 is a multiple of this. */
export const SNAPSHOT_INTERVAL = 10;

/**
 * MAXLOGSIZE, in entries rather than bytes: no server may hold this many entries after its snapshot. The
 * lab's 2,000 bytes hold a few tens of entries of ints. When the tester looks, every live server has applied
 * everything, so a server that compacts holds only what came after its last snapshot: fewer than
 * SNAPSHOT_INTERVAL commands, plus no-ops of elections; a server that is away holds no more than when it left.
 * The real core peaks at 11 (snapcommon's five tests, seeds 1..150), so 50 leaves room for unlucky elections,
 * while a server that never compacts passes it within a few of the 30 rounds, each of which commits 7 or more.
 */
export const MAX_LOG_SIZE = 50;

/** What the tester's service puts in a snapshot: its applied log through `commandIndex`. */
export interface LabSnapshot {
  readonly commandIndex: number;
  /** The commands with indices 1..commandIndex, at positions 0..commandIndex-1. */
  readonly log: readonly Command[];
}

/** Whether the applier snapshots right after applying command index `commandIndex`. */
export function snapshotsAfter(commandIndex: number): boolean {
  return (commandIndex + 1) % SNAPSHOT_INTERVAL === 0;
}

/**
 * The snapshot of a service that applied `applied` (by command index, slot 0 unused) through `commandIndex`.
 * Frozen: the core and the simulator pass the same object around, and nobody may change it on the way.
 */
export function encodeSnapshot(commandIndex: number, applied: readonly Command[]): LabSnapshot {
  return Object.freeze({ commandIndex, log: Object.freeze(applied.slice(1, commandIndex + 1)) });
}

/** ingestSnap's decoding: the snapshot's data back as a LabSnapshot, or null when it is not one. */
export function decodeSnapshot(data: unknown): LabSnapshot | null {
  if (typeof data !== 'object' || data === null) return null;
  const { commandIndex, log } = data as Partial<LabSnapshot>;
  if (!Number.isSafeInteger(commandIndex) || !Array.isArray(log) || log.length !== commandIndex) return null;
  return { commandIndex: commandIndex!, log };
}
