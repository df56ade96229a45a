/** Reading nodes' logs, in memory or on their simulated disk, through one small interface. */
import { type Entry, logOf, type RaftState } from '../../src/core/index.js';
import type { SimNode } from '../../src/runtime/simulator/index.js';
import type { Command } from '../scenario.js';

export interface ReadableLog {
  readonly lastIndex: number;
  entry(index: number): Entry<Command> | undefined;
}

export function memoryLog(state: RaftState<Command>): ReadableLog {
  return logOf(state);
}

export function durableLog(node: SimNode<Command>): ReadableLog {
  const entries = node.durable.entries;
  return { lastIndex: entries.length, entry: (index) => entries[index - 1] };
}

/** The log that counts for a node now: its memory while it runs, what it persisted while it is down. */
export function currentLog(node: SimNode<Command>): ReadableLog {
  return node.state === null ? durableLog(node) : memoryLog(node.state);
}

export function sameEntry(a: Entry<Command> | undefined, b: Entry<Command> | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return a.index === b.index && a.term === b.term && a.kind === b.kind && a.command === b.command;
}

export function show(entry: Entry<Command> | undefined): string {
  if (entry === undefined) return 'nothing';
  return `(${entry.index}, term ${entry.term}, ${entry.kind === 'command' ? entry.command : entry.kind})`;
}
