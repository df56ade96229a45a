/**
 * What the nodes' traces say: each is replayed through the reducer (every transition must match the
 * recording), and the entries each node applied are gathered, to check that every node applied the same entry
 * at each index and that every acknowledged write was applied somewhere.
 */
import { basename } from 'node:path';
import type { Entry } from '../../core/index.js';
import type { KvCommand, KvEntry } from '../../kv/commands.js';
import { readTrace, replay } from '../../runtime/node/index.js';

export interface TraceReport {
  /** Traces with a transition that did not replay as recorded: "file #position". */
  readonly mismatches: string[];
  /** Indexes where two nodes applied different entries: "index: a has …, b has …". */
  readonly disagreements: string[];
  /**
   * "client/seq" of every command some node applied. Not of those in the log a node restarted with: that log may
   * hold entries never committed (a write acknowledged early, then lost, would pass).
   */
  readonly appliedSessions: ReadonlySet<string>;
  readonly events: number;
}

export const sessionKey = (client: string, seq: number) => `${client}/${seq}`;

function commandsOf(entry: Entry<KvEntry>): readonly KvCommand[] {
  const command = entry.command;
  if (command === undefined) return [];
  if (command.op === 'member') return [];
  return command.op === 'batch' ? command.commands : [command];
}

/** An entry in a few words: its term, kind and the sessions of its commands. */
function summarize(entry: Entry<KvEntry>): string {
  const sessions = commandsOf(entry).flatMap((c) =>
    c.session ? [sessionKey(c.session.client, c.session.seq)] : [],
  );
  return `term ${entry.term} ${entry.kind}${sessions.length > 0 ? ` (${sessions.slice(0, 3).join(' ')}${sessions.length > 3 ? ' …' : ''})` : ''}`;
}

/** `traces`: paths named `<node>-<incarnation>.trace`. */
export async function analyzeTraces(traces: readonly string[]): Promise<TraceReport> {
  const mismatches: string[] = [];
  const disagreements: string[] = [];
  const appliedSessions = new Set<string>();
  /** index → the entry (as JSON) and the node that applied it first. */
  const applied = new Map<number, { json: string; node: string; summary: string }>();
  const conflicting = new Set<number>();
  let events = 0;
  for (const path of traces) {
    const node = basename(path).replace(/-\d+\.trace$/, '');
    const trace = await readTrace<KvEntry>(path);
    events += trace.events.length;
    for (const step of replay(trace)) {
      if (!step.matched) mismatches.push(`${basename(path)} #${step.position}`);
      for (const effect of step.effects) {
        if (effect.type !== 'apply') continue;
        for (const entry of effect.entries) {
          for (const c of commandsOf(entry))
            if (c.session) appliedSessions.add(sessionKey(c.session.client, c.session.seq));
          const json = JSON.stringify(entry);
          const first = applied.get(entry.index);
          if (first === undefined) applied.set(entry.index, { json, node, summary: summarize(entry) });
          else if (first.json !== json && !conflicting.has(entry.index)) {
            conflicting.add(entry.index);
            disagreements.push(
              `index ${entry.index}: ${first.node} applied ${first.summary}, ${basename(path)} applied ${summarize(entry)}`,
            );
          }
        }
      }
    }
  }
  return { mismatches, disagreements, appliedSessions, events };
}
