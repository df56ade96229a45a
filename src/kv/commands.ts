/**
 * The key-value service's commands and their results. A log entry holds one command or a batch of them
 * (group commit, see batcher.ts), as plain JSON. A command may carry a client session (client id and sequence
 * number) so that a retried request is applied exactly once (Raft thesis §6.3).
 */
import type { MemberAddresses, MemberRecord } from './address-book.js';

export type KvOperation =
  /** A read through the log. The service no longer proposes it (reads use ReadIndex, kv-node.ts); it is still
   *  applied as before, so that a log written by an earlier version replays the same on every replica. */
  | { readonly op: 'get'; readonly key: string }
  | { readonly op: 'put'; readonly key: string; readonly value: string }
  | { readonly op: 'delete'; readonly key: string }
  /** Sets `key` to `value` only if it now holds `expected`; null means absent, on either side. */
  | {
      readonly op: 'cas';
      readonly key: string;
      readonly expected: string | null;
      readonly value: string | null;
    };

export interface KvSession {
  readonly client: string;
  /** Positive and increasing per client: a client retries a request with the same number. */
  readonly seq: number;
}

export type KvCommand = KvOperation & { readonly session?: KvSession };

export type KvResult =
  | { readonly op: 'get'; readonly value: string | null }
  | { readonly op: 'put' | 'delete'; readonly previous: string | null }
  | { readonly op: 'cas'; readonly swapped: boolean; readonly current: string | null }
  /** Not applied: the command is malformed, or its session's sequence number is older than the last one. */
  | { readonly op: 'refused'; readonly reason: string };

/**
 * What one log entry holds: one client's command, several proposed together, or a member's addresses for the
 * cluster's address book (address-book.ts), which carries no session and is never batched.
 */
export type KvEntry =
  | KvCommand
  | { readonly op: 'batch'; readonly commands: readonly KvCommand[] }
  | MemberRecord;

/** An entry's result: a batch's results are in the order of its commands; a member entry's, what it replaced. */
export type KvEntryResult =
  | KvResult
  | { readonly op: 'batch'; readonly results: readonly KvResult[] }
  | { readonly op: 'member'; readonly previous: MemberAddresses | null };

/** Longest client id, in characters. */
export const MAX_CLIENT_ID_LENGTH = 128;

function isNullableString(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

/** Why `session` is not a valid session, or undefined when it is. */
export function checkSession(session: unknown): string | undefined {
  if (typeof session !== 'object' || session === null) return 'session must be an object';
  const { client, seq } = session as Record<string, unknown>;
  if (typeof client !== 'string' || client.length === 0 || client.length > MAX_CLIENT_ID_LENGTH)
    return `client id must be 1 to ${MAX_CLIENT_ID_LENGTH} characters`;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1)
    return 'sequence number must be a positive integer';
  return undefined;
}

/**
 * Why `command` is not a well-formed command, or undefined when it is. The log is the state machine's input:
 * it checks every command, so that a malformed one is refused the same way on every replica instead of
 * throwing (which would stop them all at the same entry).
 */
export function checkCommand(command: unknown): string | undefined {
  if (typeof command !== 'object' || command === null) return 'command must be an object';
  const c = command as Record<string, unknown>;
  if (typeof c.key !== 'string') return 'key must be a string';
  if (c.session !== undefined) {
    const problem = checkSession(c.session);
    if (problem !== undefined) return problem;
  }
  switch (c.op) {
    case 'get':
    case 'delete':
      return undefined;
    case 'put':
      return typeof c.value === 'string' ? undefined : 'value must be a string';
    case 'cas':
      return isNullableString(c.expected) && isNullableString(c.value)
        ? undefined
        : 'expected and value must each be a string or null';
    default:
      return `unknown operation ${JSON.stringify(c.op)}`;
  }
}
