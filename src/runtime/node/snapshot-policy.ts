/**
 * When a node compacts its log (§7). Memory, disk and restart time then stay flat however many writes
 * accumulate: they are bounded by the state machine plus at most one policy's worth of log.
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

/** Whether the policy calls for a snapshot, given what was applied since the last one. */
export function snapshotDue(
  policy: Required<SnapshotPolicy>,
  entriesSince: number,
  bytesSince: number,
): boolean {
  return entriesSince >= policy.entries || bytesSince >= policy.bytes;
}
