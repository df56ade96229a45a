/**
 * Reading nodes' logs, in memory or on their simulated disk, through one small interface. A log may start
 * after a base (the position its latest snapshot stands for): the entries through the base are compacted, and
 * what they were is checked where the snapshot is (snapshots.ts), against the committed log.
 */
import { type Entry, logOf, type Membership, type RaftState, status } from '../../src/core/index.js';
import type { SimNode } from '../../src/runtime/simulator/index.js';
import { formatMembership } from '../format.js';
import type { Command } from '../scenario.js';

export interface ReadableLog {
  /** Entries before it are compacted (1 when there is no snapshot). */
  readonly firstIndex: number;
  readonly lastIndex: number;
  /** The last entry's term, or the base's when no entry follows it. */
  readonly lastTerm: number;
  /** The entry at `index`; undefined outside [firstIndex, lastIndex]. */
  entry(index: number): Entry<Command> | undefined;
  /** The term at `index`: an entry's, or the base's at firstIndex - 1; undefined elsewhere. */
  term(index: number): number | undefined;
}

export function memoryLog(state: RaftState<Command>): ReadableLog {
  return logOf(state);
}

export function durableLog(node: SimNode<Command>): ReadableLog {
  const { durable } = node;
  const base = durable.snapshotIndex;
  const baseTerm = durable.latestSnapshot?.meta.term ?? 0;
  const entries = durable.entries;
  const entry = (index: number) => (index > base ? entries[index - base - 1] : undefined);
  return {
    firstIndex: base + 1,
    lastIndex: durable.lastIndex,
    lastTerm: entries[entries.length - 1]?.term ?? baseTerm,
    entry,
    term: (index) => (index === base ? baseTerm : entry(index)?.term),
  };
}

/** The log that counts for a node now: its memory while it runs, what it persisted while it is down. */
export function currentLog(node: SimNode<Command>): ReadableLog {
  return node.state === null ? durableLog(node) : memoryLog(node.state);
}

/**
 * The configuration in force on a node (§6: the last one in its log): in memory while it runs; while it is
 * down, the one it will restart with, from what it persisted, or `initial` (its config's) when that is nothing.
 */
export function membershipOf(node: SimNode<Command>, initial: Membership): Membership {
  if (node.state !== null) return status(node.state).membership;
  const { entries, latestSnapshot } = node.durable;
  for (let i = entries.length - 1; i >= 0; i--) {
    const { membership } = entries[i]!;
    if (membership !== undefined) return membership;
  }
  return latestSnapshot?.meta.membership ?? initial;
}

/** Does the log hold `entry`, or has it compacted its index away (into a snapshot checked on its own)? */
export function covers(log: ReadableLog, entry: Entry<Command>): boolean {
  return entry.index < log.firstIndex || sameEntry(log.entry(entry.index), entry);
}

export function sameEntry(a: Entry<Command> | undefined, b: Entry<Command> | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return (
    a.index === b.index &&
    a.term === b.term &&
    a.kind === b.kind &&
    a.command === b.command &&
    sameMembership(a.membership, b.membership)
  );
}

export function sameMembership(a: Membership | undefined, b: Membership | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  const same = (x: readonly string[] | undefined, y: readonly string[] | undefined) =>
    x === y ||
    (x !== undefined && y !== undefined && x.length === y.length && x.every((id, i) => id === y[i]));
  return same(a.voters, b.voters) && same(a.learners, b.learners) && same(a.outgoing, b.outgoing);
}

export function show(entry: Entry<Command> | undefined): string {
  if (entry === undefined) return 'nothing';
  const what =
    entry.kind === 'command'
      ? entry.command
      : entry.kind === 'config'
        ? `config${formatMembership(entry.membership!)}`
        : entry.kind;
  return `(${entry.index}, term ${entry.term}, ${what})`;
}
