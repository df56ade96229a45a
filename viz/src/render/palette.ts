/** The page's colours: one per term (log cells, leader bands), one per role, one per message type. */
import type { MessageType } from '../../../src/core/index.js';
import type { RoleView } from '../model/view.js';

const TERMS = [
  '#4fc3f7',
  '#aed581',
  '#ffb74d',
  '#ba68c8',
  '#f06292',
  '#4db6ac',
  '#fff176',
  '#9575cd',
  '#ff8a65',
];

export function termColor(term: number): string {
  return term <= 0 ? '#607080' : TERMS[(term - 1) % TERMS.length]!;
}

export const ROLE_COLORS: Record<RoleView, string> = {
  follower: '#37474f',
  precandidate: '#8d6e00',
  candidate: '#e65100',
  leader: '#1565c0',
  learner: '#455a64',
  down: '#1a1f24',
  unknown: '#1a1f24',
};

/** A request and its response share a hue; the page draws responses hollow. */
export const MESSAGE_COLORS: Record<MessageType, string> = {
  PreVote: '#fdd835',
  PreVoteResponse: '#fdd835',
  RequestVote: '#ff7043',
  RequestVoteResponse: '#ff7043',
  AppendEntries: '#42a5f5',
  AppendEntriesResponse: '#42a5f5',
  InstallSnapshot: '#ce93d8',
  InstallSnapshotResponse: '#ce93d8',
  TimeoutNow: '#ef5350',
};

export const TIMER_COLORS: Record<string, string> = {
  election: '#ffa726',
  heartbeat: '#4fc3f7',
  checkQuorum: '#78909c',
  transfer: '#ef5350',
};
