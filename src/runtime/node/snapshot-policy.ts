/**
 * When a node compacts its log (§7). Memory, disk and restart time then stay flat however many writes
 * accumulate: they are bounded by the state machine plus at most one policy's worth of log (a few times that
 * while a snapshot is on its way to a follower: see DEFERRED_SNAPSHOT_FACTOR).
 */
export interface SnapshotPolicy {
  /** Take a snapshot once this many entries were applied since the last one. Default 10,000. */
  readonly entries?: number;
  /** ... or once the commands applied since the last one add up to this many bytes. Default 64 MiB. */
  readonly bytes?: number;
}

export const DEFAULT_SNAPSHOT_POLICY: Required<SnapshotPolicy> = { entries: 10_000, bytes: 64 * 1024 * 1024 };

export function settlePolicy(policy: SnapshotPolicy | false | undefined): Required<SnapshotPolicy> | null {
  if (policy === false) return null;
  const settled = { ...DEFAULT_SNAPSHOT_POLICY, ...policy };
  for (const [name, value] of Object.entries(settled)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`snapshotPolicy.${name} must be a positive integer, got ${value}`);
    }
  }
  return settled;
}

/**
 * How far past its policy a node lets its log grow while a snapshot is on its way to a follower. A follower that
 * catches up from a snapshot needs the entries after it; compacting them away meanwhile makes the leader send it
 * a newer snapshot, and for as long as a transfer takes longer than the writes take to call for the next
 * snapshot (a large state on a slow link), the follower never catches up. So compaction waits for the transfer,
 * as etcd's does, and for the follower's answer (it answers once it has stored and restored the snapshot, which
 * takes long for a large state: Transport.snapshotsInFlight), but only so long: memory and disk stay within this
 * many times the policy's worth of log.
 */
export const DEFERRED_SNAPSHOT_FACTOR = 8;

/**
 * Whether the policy calls for a snapshot, given what was applied since the last one, and whether a snapshot is
 * on its way to a follower (then only at DEFERRED_SNAPSHOT_FACTOR times the policy).
 */
export function snapshotDue(
  policy: Required<SnapshotPolicy>,
  entriesSince: number,
  bytesSince: number,
  sendingSnapshot = false,
): boolean {
  const factor = sendingSnapshot ? DEFERRED_SNAPSHOT_FACTOR : 1;
  return entriesSince >= policy.entries * factor || bytesSince >= policy.bytes * factor;
}
