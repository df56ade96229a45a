/** One-line descriptions of actions, events, effects and node states, for replay's step-by-step output. */
import {
  type Effect,
  type Entry,
  type Event,
  type Message,
  type RaftState,
  status,
} from '../src/core/index.js';
import type { Action } from './scenario.js';

export function formatAction(action: Action): string {
  const { type, ...details } = action;
  const text = Object.entries(details)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join(',') : String(value)}`)
    .join(' ');
  return text === '' ? type : `${type} ${text}`;
}

function formatEntries(entries: readonly Entry<unknown>[]): string {
  if (entries.length === 0) return '[]';
  const shown = entries.map(
    (e) => `${e.index}:t${e.term}${e.kind === 'command' ? `:${String(e.command)}` : `:${e.kind}`}`,
  );
  return `[${shown.join(' ')}]`;
}

export function formatMessage(message: Message<unknown>): string {
  const head = `${message.type} ${message.from}->${message.to} t${message.term}`;
  switch (message.type) {
    case 'RequestVote':
      return `${head} last=(${message.lastLogIndex},t${message.lastLogTerm})`;
    case 'RequestVoteResponse':
      return `${head} ${message.voteGranted ? 'granted' : 'refused'}`;
    case 'AppendEntries':
      return `${head} prev=(${message.prevLogIndex},t${message.prevLogTerm}) ${formatEntries(message.entries)} commit=${message.leaderCommit}`;
    case 'AppendEntriesResponse':
      return message.success
        ? `${head} ok index=${message.index}`
        : `${head} rejected index=${message.index} conflict=(${message.conflictIndex},t${message.conflictTerm})`;
  }
}

export function formatEvent(event: Event<unknown>): string {
  switch (event.type) {
    case 'timeout':
      return `timeout ${event.timer}`;
    case 'propose':
      return `propose ${String(event.command)}`;
    case 'receive':
      return `receive ${formatMessage(event.message)}`;
  }
}

export function formatEffect(effect: Effect<unknown>): string {
  switch (effect.type) {
    case 'setTimer':
      return `setTimer ${effect.timer} +${effect.delay}`;
    case 'cancelTimer':
      return `cancelTimer ${effect.timer}`;
    case 'send':
      return `send ${formatMessage(effect.message)}`;
    case 'apply':
      return `apply ${formatEntries(effect.entries)}`;
    case 'persist': {
      const parts = [
        effect.hardState && `hardState=(t${effect.hardState.term}, votedFor=${effect.hardState.votedFor})`,
        effect.truncateFrom !== undefined && `truncateFrom=${effect.truncateFrom}`,
        effect.entries && `entries=${formatEntries(effect.entries)}`,
      ];
      return `persist ${parts.filter(Boolean).join(' ')}`;
    }
  }
}

export function formatState(state: RaftState<unknown>): string {
  const s = status(state);
  return `${s.role} t${s.term} votedFor=${s.votedFor} leader=${s.leaderId} last=(${s.lastIndex},t${s.lastTerm}) commit=${s.commitIndex}`;
}
