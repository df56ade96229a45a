/** Validates a Config and settles its optional fields. A bad config is a programming error: throw clearly. */
import { whyMembershipMalformed } from './membership.js';
import type { Config, Settings } from './types.js';
import { utf8Length } from './utf8.js';

export const DEFAULTS = {
  maxEntriesPerAppend: 64,
  maxBytesPerAppend: 1024 * 1024,
  maxInflightAppends: 4,
  preVote: true,
  checkQuorum: true,
  leaseReads: false,
} as const;

/**
 * Lease reads: the most by which one node's timers may run fast or slow against another's, as a fraction
 * (bounded drift, thesis §6.4.1). Monotonic clocks drift by parts per million; this leaves a wide margin.
 */
export const LEASE_CLOCK_DRIFT = 0.01;

/**
 * A leader's lease, from the start of the round that confirms it: shorter than the minimum election timeout
 * as the slowest follower's clock may measure it, less one heartbeat interval for a timer that fires late
 * and for the time between a timer's firing and the read the leader answers (reads.ts).
 */
export function leaseDurationOf(electionTimeoutMin: number, heartbeatInterval: number): number {
  return electionTimeoutMin * (1 - LEASE_CLOCK_DRIFT) - heartbeatInterval;
}

/** Lease reads rest on check-quorum's leader stickiness, and need room for a lease. */
function settleLeaseReads(
  config: Config,
  checkQuorum: boolean,
  min: number,
  heartbeatInterval: number,
): number {
  if (!flag('leaseReads', config.leaseReads ?? DEFAULTS.leaseReads)) return 0;
  if (!checkQuorum) {
    throw new TypeError(
      'config.leaseReads needs config.checkQuorum: a lease holds only while followers that heard from the leader refuse to vote for another',
    );
  }
  const duration = leaseDurationOf(min, heartbeatInterval);
  if (!(duration > 0)) {
    throw new RangeError(
      `config.leaseReads needs a lease: electionTimeout's minimum × (1 − ${LEASE_CLOCK_DRIFT}) − heartbeatInterval must be positive, got ${min} × ${1 - LEASE_CLOCK_DRIFT} − ${heartbeatInterval}`,
    );
  }
  return duration;
}

/** The default `commandSize`: pure, and close enough to the bytes on the wire for flow control. */
export function defaultCommandSize(command: unknown): number {
  if (typeof command === 'string') return utf8Length(command);
  if (command instanceof Uint8Array) return command.byteLength;
  if (command === undefined) return 0;
  return utf8Length(JSON.stringify(command) ?? '');
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`config.${name} must be a positive integer, got ${value}`);
  return value;
}

function flag(name: string, value: boolean): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`config.${name} must be a boolean, got ${value}`);
  return value;
}

/**
 * Settled settings are an instance of this class rather than a plain object, so that immer never drafts them:
 * handlers read settings on every step, and a draft of them on every read would cost more than the step.
 */
class SettledConfig {}

export function settle(config: Config): Settings {
  const { id, voters, electionTimeout, heartbeatInterval } = config;
  if (typeof id !== 'string' || id.length === 0) throw new TypeError('config.id must be a non-empty string');
  // A node joining a running cluster is started with the cluster's voters, which need not include it.
  const initialMembership = { voters: [...(voters ?? [])], learners: [...(config.learners ?? [])] };
  const malformed = whyMembershipMalformed(initialMembership);
  if (malformed !== undefined) throw new TypeError(`config.voters and config.learners: ${malformed}`);
  const [min, max] = electionTimeout;
  if (!(Number.isFinite(min) && Number.isFinite(max) && min > 0 && max >= min)) {
    throw new RangeError(
      `config.electionTimeout must be [min, max) with 0 < min <= max, got [${min}, ${max}]`,
    );
  }
  if (!(Number.isFinite(heartbeatInterval) && heartbeatInterval > 0 && heartbeatInterval < min)) {
    throw new RangeError(
      `config.heartbeatInterval must be positive and below the election timeout's minimum (${min}), got ${heartbeatInterval}`,
    );
  }
  if (!Number.isFinite(config.seed)) throw new TypeError('config.seed must be a finite number');
  const checkQuorum = flag('checkQuorum', config.checkQuorum ?? DEFAULTS.checkQuorum);
  const leaseDuration = settleLeaseReads(config, checkQuorum, min, heartbeatInterval);
  const settings: Settings = {
    id,
    initialMembership,
    electionTimeout: [min, max],
    heartbeatInterval,
    maxEntriesPerAppend: positiveInteger(
      'maxEntriesPerAppend',
      config.maxEntriesPerAppend ?? DEFAULTS.maxEntriesPerAppend,
    ),
    maxBytesPerAppend: positiveInteger(
      'maxBytesPerAppend',
      config.maxBytesPerAppend ?? DEFAULTS.maxBytesPerAppend,
    ),
    maxInflightAppends: positiveInteger(
      'maxInflightAppends',
      config.maxInflightAppends ?? DEFAULTS.maxInflightAppends,
    ),
    ...(config.commandSize !== undefined && { commandSize: config.commandSize }),
    preVote: flag('preVote', config.preVote ?? DEFAULTS.preVote),
    checkQuorum,
    leaseReads: leaseDuration > 0,
    leaseDuration,
  };
  return Object.freeze(Object.assign(new SettledConfig(), settings));
}
