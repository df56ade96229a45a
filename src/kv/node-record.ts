/**
 * What a data directory records of the node that made it: its id, and the voters it first started with (the
 * configuration before any in its log). The log and the vote belong to that node of that cluster alone.
 *
 * - Started again under another id, a node would take the directory's vote and log for its own (Raft's
 *   guarantees assume neither moves between nodes): it is refused.
 * - Started again with other peers, or none (a `--peer` flag forgotten), a node whose log holds no
 *   configuration yet took its voters from the flags: alone, it was a cluster of one, elected itself and took
 *   writes beside the real cluster. The voters recorded here stand instead; the flags give addresses only.
 *
 * Written durably (aside, synced, renamed, the directory synced) the first time the node runs on the
 * directory, by a version that records it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeId } from '../core/index.js';
import { parseJsonObject } from '../effects/json-object.js';
import { createFileDurably } from '../effects/storage/durable-fs.js';
import { checkNodeId } from '../effects/transport/codec.js';

export const NODE_RECORD_FILE = 'node.json';

export interface NodeRecord {
  readonly id: NodeId;
  readonly voters: readonly NodeId[];
}

/** The directory's record, undefined if it has none; throws, naming the file, if it is damaged. */
export function readNodeRecord(dataDir: string): NodeRecord | undefined {
  const path = join(dataDir, NODE_RECORD_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
  const record = parseRecord(text);
  if (record === undefined) throw new Error(`${path} is damaged: it must be {"id": ..., "voters": [...]}`);
  return record;
}

export async function writeNodeRecord(dataDir: string, record: NodeRecord): Promise<void> {
  const text = `${JSON.stringify({ id: record.id, voters: record.voters }, null, 2)}\n`;
  await createFileDurably(join(dataDir, NODE_RECORD_FILE), new TextEncoder().encode(text));
}

/** Refuses a node whose id is not the one the directory was made by. */
export function checkNodeRecord(dataDir: string, id: NodeId, record: NodeRecord | undefined): void {
  if (record !== undefined && record.id !== id) {
    throw new Error(
      `the data directory ${dataDir} belongs to node ${JSON.stringify(record.id)}, not ${JSON.stringify(id)}: ` +
        'give each node its own directory (its log and its vote are that node’s alone)',
    );
  }
}

function parseRecord(text: string): NodeRecord | undefined {
  const { id, voters } = parseJsonObject(text) ?? {};
  if (typeof id !== 'string' || checkNodeId(id) !== undefined) return undefined;
  if (
    !Array.isArray(voters) ||
    voters.some((voter) => typeof voter !== 'string' || checkNodeId(voter) !== undefined)
  )
    return undefined;
  return { id, voters: voters as NodeId[] };
}
