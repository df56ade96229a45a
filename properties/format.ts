/** One-line descriptions of actions, events, effects and node states, for replay's step-by-step output. */
import {
  type Effect,
  type Entry,
  type Event,
  type Membership,
  type Message,
  type RaftState,
  type Snapshot,
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
  const shown = entries.map((e) => {
    if (e.kind === 'command') return `${e.index}:t${e.term}:${String(e.command)}`;
    if (e.kind === 'config') return `${e.index}:t${e.term}:config${formatMembership(e.membership!)}`;
    return `${e.index}:t${e.term}:${e.kind}`;
  });
  return `[${shown.join(' ')}]`;
}

export function formatMembership(m: Membership): string {
  const learners = m.learners.length > 0 ? ` learners=${m.learners.join(',')}` : '';
  const outgoing = m.outgoing !== undefined ? ` outgoing=${m.outgoing.join(',')}` : '';
  return `(voters=${m.voters.join(',')}${learners}${outgoing})`;
}

function formatSnapshot(snapshot: Snapshot): string {
  const { index, term, membership } = snapshot.meta;
  return `snapshot(${index},t${term}) ${formatMembership(membership)} data=${JSON.stringify(snapshot.data)}`;
}

export function formatMessage(message: Message<unknown>): string {
  const head = `${message.type} ${message.from}->${message.to} t${message.term}`;
  switch (message.type) {
    case 'RequestVote':
      return `${head} last=(${message.lastLogIndex},t${message.lastLogTerm})${message.transfer ? ' transfer' : ''}`;
    case 'PreVote':
      return `${head} last=(${message.lastLogIndex},t${message.lastLogTerm})`;
    case 'RequestVoteResponse':
    case 'PreVoteResponse':
      return `${head} ${message.voteGranted ? 'granted' : 'refused'}`;
    case 'AppendEntries':
      return `${head} prev=(${message.prevLogIndex},t${message.prevLogTerm}) ${formatEntries(message.entries)} commit=${message.leaderCommit} round=${message.round}`;
    case 'AppendEntriesResponse':
      return message.success
        ? `${head} ok index=${message.index} round=${message.round}`
        : `${head} rejected index=${message.index} conflict=(${message.conflictIndex},t${message.conflictTerm}) round=${message.round}`;
    case 'InstallSnapshot':
      return `${head} ${formatSnapshot(message.snapshot)} round=${message.round}`;
    case 'InstallSnapshotResponse':
      return `${head} index=${message.index} round=${message.round}`;
    case 'TimeoutNow':
      return head;
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
    case 'snapshot':
      return `snapshot index=${event.index} data=${JSON.stringify(event.data)}`;
    case 'changeMembership':
      return `changeMembership voters=${event.voters.join(',')} learners=${(event.learners ?? []).join(',')}`;
    case 'transferLeadership':
      return `transferLeadership to=${event.to}`;
    case 'read':
      return `read ${event.id}`;
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
        effect.snapshot && formatSnapshot(effect.snapshot),
        effect.truncateFrom !== undefined && `truncateFrom=${effect.truncateFrom}`,
        effect.entries && `entries=${formatEntries(effect.entries)}`,
      ];
      return `persist ${parts.filter(Boolean).join(' ')}`;
    }
    case 'restore':
      return `restore ${formatSnapshot(effect.snapshot)}`;
    case 'readReady':
      return `readReady ${effect.id} index=${effect.index}`;
    case 'readFailed':
      return `readFailed ${effect.id} leader=${effect.leaderId}`;
  }
}

export function formatState(state: RaftState<unknown>): string {
  const s = status(state);
  const snapshot = s.snapshotIndex > 0 ? ` snapshot=${s.snapshotIndex}` : '';
  const transfer = s.transferring !== null ? ` transferring=${s.transferring}` : '';
  return `${s.role} t${s.term} votedFor=${s.votedFor} leader=${s.leaderId} last=(${s.lastIndex},t${s.lastTerm}) commit=${s.commitIndex}${snapshot}${transfer} ${formatMembership(s.membership)}`;
}
