/**
 * The schema of a message, beyond what its type says: non-negative integer terms and indices, entries that
 * continue `prevLogIndex` contiguously, log terms that never decrease and never pass the sender's term.
 * A correct peer never sends anything else, so a message that fails is dropped by `step`, never thrown on:
 * a buggy or hostile peer cannot drive the reducer into a broken invariant. A runtime's decoder uses the same
 * check at its boundary (`whyMalformed` says what is wrong, for its logs).
 */
import { whyMembershipMalformed } from './membership.js';
import type { AppendEntries, Entry, InstallSnapshot, Message } from './types.js';

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** Why `message` is malformed, or undefined when it is well-formed. */
export function whyMalformed<C>(message: Message<C>): string | undefined {
  if (typeof message !== 'object' || message === null) return 'message must be an object';
  if (!isCount(message.term)) return 'term must be a non-negative integer';
  if (typeof message.from !== 'string' || message.from.length === 0) return 'from must be a non-empty string';
  if (typeof message.to !== 'string' || message.to.length === 0) return 'to must be a non-empty string';
  switch (message.type) {
    case 'RequestVote':
      if (typeof message.transfer !== 'boolean') return 'RequestVote: transfer must be boolean';
      return whyLastPositionMalformed(message);
    case 'PreVote':
      return whyLastPositionMalformed(message);
    case 'RequestVoteResponse':
    case 'PreVoteResponse':
      return typeof message.voteGranted === 'boolean'
        ? undefined
        : `${message.type}: voteGranted must be boolean`;
    case 'AppendEntries':
      return whyAppendMalformed(message);
    case 'AppendEntriesResponse':
      if (typeof message.success !== 'boolean') return 'AppendEntriesResponse: success must be boolean';
      if (!isCount(message.index) || !isCount(message.conflictTerm) || !isCount(message.conflictIndex)) {
        return 'AppendEntriesResponse: index and conflict hint must be non-negative integers';
      }
      if (!isCount(message.round)) return 'AppendEntriesResponse: round must be a non-negative integer';
      return message.conflictTerm > message.term
        ? 'AppendEntriesResponse: conflictTerm exceeds term'
        : undefined;
    case 'InstallSnapshot':
      return whySnapshotMalformed(message);
    case 'InstallSnapshotResponse':
      return isCount(message.index) && isCount(message.round)
        ? undefined
        : 'InstallSnapshotResponse: index and round must be non-negative integers';
    case 'TimeoutNow':
      return undefined;
    default:
      return `unknown message type ${JSON.stringify((message as { type: unknown }).type)}`;
  }
}

export function isWellFormed<C>(message: Message<C>): boolean {
  return whyMalformed(message) === undefined;
}

function whyLastPositionMalformed(message: {
  type: string;
  term: number;
  lastLogIndex: number;
  lastLogTerm: number;
}): string | undefined {
  if (!isCount(message.lastLogIndex) || !isCount(message.lastLogTerm)) {
    return `${message.type}: last log position must be non-negative integers`;
  }
  return message.lastLogTerm > message.term ? `${message.type}: lastLogTerm exceeds term` : undefined;
}

function whySnapshotMalformed(message: InstallSnapshot): string | undefined {
  if (!isCount(message.round)) return 'InstallSnapshot: round must be a non-negative integer';
  const { snapshot } = message;
  if (typeof snapshot !== 'object' || snapshot === null) return 'InstallSnapshot: snapshot must be an object';
  const { meta } = snapshot;
  if (typeof meta !== 'object' || meta === null) return 'InstallSnapshot: snapshot meta must be an object';
  if (!isCount(meta.index) || meta.index === 0 || !isCount(meta.term) || meta.term === 0) {
    return 'InstallSnapshot: snapshot index and term must be positive integers';
  }
  if (meta.term > message.term) return 'InstallSnapshot: snapshot term exceeds the message term';
  const membership = whyMembershipMalformed(meta.membership);
  return membership === undefined ? undefined : `InstallSnapshot: snapshot membership: ${membership}`;
}

function whyAppendMalformed<C>(message: AppendEntries<C>): string | undefined {
  const { term, prevLogIndex, prevLogTerm, leaderCommit, entries } = message;
  if (!isCount(prevLogIndex) || !isCount(prevLogTerm) || !isCount(leaderCommit) || !isCount(message.round)) {
    return 'AppendEntries: positions and round must be non-negative integers';
  }
  if (prevLogTerm > term) return 'AppendEntries: prevLogTerm exceeds term';
  if (prevLogIndex === 0 && prevLogTerm !== 0) return 'AppendEntries: the position before the log has term 0';
  if (!Array.isArray(entries)) return 'AppendEntries: entries must be an array';
  let previousTerm = prevLogTerm;
  for (let offset = 0; offset < entries.length; offset++) {
    const entry = entries[offset]!;
    const problem = whyEntryMalformed(entry, prevLogIndex + 1 + offset, previousTerm, term);
    if (problem !== undefined) return `AppendEntries: entry ${offset}: ${problem}`;
    previousTerm = entry.term;
  }
  return undefined;
}

function whyEntryMalformed<C>(
  entry: Entry<C>,
  index: number,
  minTerm: number,
  maxTerm: number,
): string | undefined {
  if (typeof entry !== 'object' || entry === null) return 'entry must be an object';
  if (entry.index !== index) return `index ${entry.index} where ${index} was due`;
  if (!isCount(entry.term) || entry.term === 0) return 'term must be a positive integer';
  if (entry.term < minTerm) return 'term decreases';
  if (entry.term > maxTerm) return 'term exceeds the message term';
  if (entry.kind === 'command') {
    if ('membership' in entry) return 'a command entry carries no membership';
    return 'command' in entry && entry.command !== undefined ? undefined : 'command entry without a command';
  }
  if (entry.kind !== 'noop' && entry.kind !== 'config') return 'unknown entry kind';
  if ('command' in entry) return `a ${entry.kind} entry carries no command`;
  if (entry.kind === 'noop') return 'membership' in entry ? 'a noop entry carries no membership' : undefined;
  const membership = whyMembershipMalformed(entry.membership!);
  return membership === undefined ? undefined : `config entry: ${membership}`;
}
