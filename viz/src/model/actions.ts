/**
 * What a person can do to a simulated run, as plain data: the page records each one with when it happened
 * (a tape), so that the run can be played again exactly, forked, and shared as a link.
 */
import type { NodeId } from '../../../src/core/index.js';

/** The knobs of a run that can change while it runs. */
export interface Knobs {
  /** Probability that a message is lost. */
  readonly loss: number;
  /** Probability that a message is delivered twice. */
  readonly duplicate: number;
  /** Network delay, uniform in [delay, 2 * delay) virtual ms. */
  readonly delay: number;
  /** Commands proposed to the leader per virtual second (0: none). */
  readonly load: number;
  /** A node snapshots and compacts its log once it has applied this many entries past its last snapshot (0: never). */
  readonly compactEvery: number;
}

export type UserAction =
  | {
      readonly type: 'crash' | 'restart' | 'isolate' | 'rejoin' | 'timeout' | 'snapshot';
      readonly node: NodeId;
    }
  /** Hand leadership to `node` (the leader of the highest term does it). */
  | { readonly type: 'transfer'; readonly node: NodeId }
  /** Cut or heal the link between two nodes, both ways. */
  | { readonly type: 'cut' | 'heal'; readonly a: NodeId; readonly b: NodeId }
  /** One command, to the leader of the highest term. */
  | { readonly type: 'propose' }
  | { readonly type: 'knob'; readonly knob: keyof Knobs; readonly value: number };

/** An action, after `item` steps of the run, at virtual time `time`. */
export interface TapeEntry {
  readonly item: number;
  readonly time: number;
  readonly action: UserAction;
}

export function describeAction(action: UserAction): string {
  switch (action.type) {
    case 'cut':
    case 'heal':
      return `${action.type} ${action.a}–${action.b}`;
    case 'propose':
      return 'propose';
    case 'knob':
      return `${action.knob} = ${action.value}`;
    case 'transfer':
      return `transfer leadership to ${action.node}`;
    default:
      return `${action.type} ${action.node}`;
  }
}
