/**
 * Semantic checks on a well-typed message. The runtime validates bytes at its boundary; these checks catch
 * what a type cannot say (negative or fractional indices, entries that do not continue `prevLogIndex`, terms
 * from the future), so that a buggy or hostile peer can never drive the reducer into a broken invariant.
 * A message that fails them is dropped, never thrown on.
 */
import type { Entry, Message } from './types.js';

const isIndex = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

const isNodeId = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

function entriesContinue<C>(
  entries: readonly Entry<C>[],
  prevIndex: number,
  prevTerm: number,
  term: number,
): boolean {
  let lastTerm = prevTerm;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    if (entry.index !== prevIndex + 1 + i || !isIndex(entry.term)) return false;
    if (entry.term < lastTerm || entry.term > term) return false;
    if (entry.kind === 'command' ? !('command' in entry) : entry.kind !== 'noop' && entry.kind !== 'config')
      return false;
    lastTerm = entry.term;
  }
  return true;
}

export function isWellFormed<C>(message: Message<C>): boolean {
  if (typeof message !== 'object' || message === null) return false;
  if (!isIndex(message.term) || !isNodeId(message.from) || !isNodeId(message.to)) return false;
  switch (message.type) {
    case 'RequestVote':
      return (
        isIndex(message.lastLogIndex) && isIndex(message.lastLogTerm) && message.lastLogTerm <= message.term
      );
    case 'RequestVoteResponse':
      return typeof message.voteGranted === 'boolean';
    case 'AppendEntries':
      return (
        isIndex(message.prevLogIndex) &&
        isIndex(message.prevLogTerm) &&
        message.prevLogTerm <= message.term &&
        (message.prevLogIndex > 0 || message.prevLogTerm === 0) &&
        isIndex(message.leaderCommit) &&
        Array.isArray(message.entries) &&
        entriesContinue(message.entries, message.prevLogIndex, message.prevLogTerm, message.term)
      );
    case 'AppendEntriesResponse':
      return (
        typeof message.success === 'boolean' &&
        isIndex(message.index) &&
        isIndex(message.conflictTerm) &&
        isIndex(message.conflictIndex) &&
        message.conflictTerm <= message.term
      );
    default:
      return false;
  }
}
