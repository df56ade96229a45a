/**
 * The snapshot policy on the command line, shared by `pureraft node` (flags and config file) and `pureraft
 * cluster`, and passed on to node processes by the launcher: one place that knows the flags, their checks and
 * how a policy turns back into flags.
 */
import { DEFAULT_KV_SNAPSHOT_POLICY } from '../kv/index.js';
import type { SnapshotPolicy } from '../runtime/node/index.js';
import type { Flag } from './flags.js';

export const snapshotFlags = {
  'snapshot-entries': {
    type: 'integer',
    placeholder: 'n',
    description: `Take a snapshot (compact the log) every n applied log entries. Default ${DEFAULT_KV_SNAPSHOT_POLICY.entries}.`,
  },
  'snapshot-bytes': {
    type: 'integer',
    placeholder: 'bytes',
    description: `... or once the commands applied since the last one pass this many bytes. Default ${DEFAULT_KV_SNAPSHOT_POLICY.bytes}.`,
  },
  'no-snapshots': {
    type: 'boolean',
    description:
      'Never take snapshots: the log, memory and restart time grow without bound (for comparison).',
  },
} as const satisfies Readonly<Record<string, Flag>>;

/** The policy as flags or a config file give it; every field optional. */
export interface SnapshotSettings {
  readonly snapshotEntries?: number | undefined;
  readonly snapshotBytes?: number | undefined;
  /** false: never take snapshots. */
  readonly snapshots?: boolean | undefined;
}

/** The settings the flags above give. */
export function snapshotSettingsOf(flags: {
  readonly 'snapshot-entries'?: number | undefined;
  readonly 'snapshot-bytes'?: number | undefined;
  readonly 'no-snapshots'?: boolean | undefined;
}): SnapshotSettings {
  return {
    snapshotEntries: flags['snapshot-entries'],
    snapshotBytes: flags['snapshot-bytes'],
    snapshots: flags['no-snapshots'] === true ? false : undefined,
  };
}

/** A policy setting that cannot be used, named precisely enough to fix. */
export class SnapshotSettingsError extends Error {
  override readonly name = 'SnapshotSettingsError';
}

/**
 * The node's policy: undefined when nothing was set (the service's default), false for none. Throws
 * `SnapshotSettingsError` on a value that is not a positive integer, or on limits given with snapshots off.
 */
export function snapshotPolicyOf(settings: SnapshotSettings): SnapshotPolicy | false | undefined {
  const { snapshotEntries: entries, snapshotBytes: bytes, snapshots } = settings;
  const limits = { entries, bytes };
  for (const [name, value] of Object.entries(limits)) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
      throw new SnapshotSettingsError(
        `--snapshot-${name} (or "snapshot${name[0]!.toUpperCase()}${name.slice(1)}") must be a positive integer, got ${JSON.stringify(value)}`,
      );
    }
  }
  if (snapshots === false) {
    if (entries !== undefined || bytes !== undefined) {
      throw new SnapshotSettingsError(
        'snapshots are off (--no-snapshots), yet a snapshot limit is set: drop one or the other',
      );
    }
    return false;
  }
  if (entries === undefined && bytes === undefined) return undefined;
  return { ...(entries !== undefined && { entries }), ...(bytes !== undefined && { bytes }) };
}

/** The flags that give `pureraft node` this policy (none for the default). */
export function snapshotPolicyFlags(policy: SnapshotPolicy | false | undefined): string[] {
  if (policy === undefined) return [];
  if (policy === false) return ['--no-snapshots'];
  return [
    ...(policy.entries !== undefined ? ['--snapshot-entries', String(policy.entries)] : []),
    ...(policy.bytes !== undefined ? ['--snapshot-bytes', String(policy.bytes)] : []),
  ];
}
