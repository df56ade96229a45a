/**
 * `pureraft node --join <url>`: a new machine joins a running cluster. It asks any member for the cluster
 * (`GET /cluster`, redirected to the leader) to learn the current voters, which it is started with (CONTRACT.md,
 * Widening 1: a joining node never campaigns until a configuration makes it a voter), and every member's
 * addresses (its transport takes connections only from peers it knows, and the leader will connect to it).
 * Once started, it asks to be added as a learner (`POST /cluster/learners` with its own id and addresses); the
 * leader records its addresses in the replicated address book, adds it, and sends it the log, or its snapshot
 * when it has compacted. It can then be promoted (`pureraft member promote`).
 *
 * Once the cluster took it, it writes `join.json` in its data directory (whole or not at all, synced), so that a
 * restart comes back from its data directory without asking again: the voters and addresses it started with
 * seed it until its log (or snapshot) says more. A crash between the answer and the file makes the next start
 * ask again, which the leader answers without a second change (cluster-admin.ts).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeId } from '../core/index.js';
import { parseJsonObject } from '../effects/json-object.js';
import { createFileDurably } from '../effects/storage/durable-fs.js';
import { formatAddress, type KvNodeConfig, type Member, parseHostPort } from '../kv/index.js';
import { adminCall, failure } from './admin-client.js';

export const JOIN_FILE = 'join.json';

/** What a joined node keeps: the cluster it joined through, and the voters and addresses it learned there. */
export interface JoinRecord {
  readonly version: 1;
  readonly cluster: string;
  readonly voters: readonly NodeId[];
  readonly peers: Readonly<Record<NodeId, { readonly raft: string; readonly http: string }>>;
}

export interface JoinOptions {
  readonly token?: string;
  /** For each request to the cluster. */
  readonly timeoutMs: number;
}

/** The record of an earlier join in `dataDir`, or undefined when this node never joined from it. */
export async function readJoinRecord(dataDir: string): Promise<JoinRecord | undefined> {
  const path = join(dataDir, JOIN_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const record = parseRecord(text);
  if (record === undefined) throw new Error(`${path} is damaged: move it away to join again`);
  return record;
}

function parseRecord(text: string): JoinRecord | undefined {
  const parsed = parseJsonObject(text);
  const { version, cluster, voters, peers } = parsed ?? {};
  const idList = Array.isArray(voters) && voters.length > 0 && voters.every((id) => typeof id === 'string');
  if (version !== 1 || typeof cluster !== 'string' || !idList || typeof peers !== 'object' || peers === null)
    return undefined;
  const addresses = Object.values(peers as Record<string, unknown>).every((member) => {
    const { raft, http } = (member ?? {}) as Record<string, unknown>;
    return typeof raft === 'string' && parseHostPort(raft) && typeof http === 'string' && parseHostPort(http);
  });
  return addresses ? (parsed as unknown as JoinRecord) : undefined;
}

/** Asks the cluster at `url` for its voters and its members' addresses (the leader answers). */
export async function learnCluster(url: string, self: NodeId, options: JoinOptions): Promise<JoinRecord> {
  const answer = await adminCall(url, { method: 'GET', path: '/cluster', ...call(options) });
  if (answer.status !== 200) throw new Error(`cannot learn the cluster from ${url} ${failure(answer)}`);
  const { membership, members } = answer.body as {
    membership?: { voters?: unknown };
    members?: { id: string; role: string; raft: string | null; http: string | null }[];
  };
  const voters = membership?.voters;
  if (!Array.isArray(voters) || !Array.isArray(members))
    throw new Error(`${url} did not answer GET /cluster with a cluster`);
  const taken = members.find((member) => member.id === self);
  if (taken !== undefined && taken.role !== 'learner')
    throw new Error(
      `the cluster already has a ${taken.role} named ${self}: remove it first, or pick another id`,
    );
  const peers: Record<NodeId, { raft: string; http: string }> = {};
  for (const { id, raft, http } of members) {
    if (id !== self && raft !== null && http !== null) peers[id] = { raft, http };
  }
  return { version: 1, cluster: url, voters: voters as NodeId[], peers };
}

/** Asks the cluster to add this node as a learner, and resolves once the configuration naming it is committed. */
export async function askToJoin(
  record: JoinRecord,
  config: KvNodeConfig,
  options: JoinOptions,
): Promise<void> {
  const body = { id: config.id, raft: formatAddress(config.raft), http: formatAddress(config.http) };
  const answer = await adminCall(record.cluster, {
    method: 'POST',
    path: '/cluster/learners',
    body,
    ...call(options),
  });
  if (answer.status !== 200)
    throw new Error(`the cluster did not take ${config.id} as a learner ${failure(answer)}`);
}

/**
 * Refuses to join with a data directory that holds a log but no join record: a node that ran before on its own
 * (started without `--join`, say) has a log of its own history, which a join would keep, and once promoted it
 * could lead with it.
 */
export function checkJoinableDirectory(dataDir: string): void {
  if (!existsSync(join(dataDir, 'STATE'))) return;
  throw new Error(
    `the data directory ${dataDir} already holds a log that did not come from joining: --join starts from ` +
      'an empty data directory (move this one away, or start the node without --join)',
  );
}

/** Keeps the record in the data directory, whole or not at all (written aside, synced, renamed, synced). */
export async function writeJoinRecord(dataDir: string, record: JoinRecord): Promise<void> {
  await createFileDurably(
    join(dataDir, JOIN_FILE),
    new TextEncoder().encode(`${JSON.stringify(record, null, 2)}\n`),
  );
}

/** The node's config for a join: seeded with the members' addresses, started with the cluster's voters. */
export function joiningConfig(config: KvNodeConfig, record: JoinRecord): KvNodeConfig {
  const peers: Record<NodeId, Member> = {};
  for (const [id, { raft, http }] of Object.entries(record.peers)) {
    if (id !== config.id) peers[id] = { raft: parseHostPort(raft)!, http: parseHostPort(http)! };
  }
  return { ...config, peers, initialVoters: record.voters };
}

function call(options: JoinOptions) {
  return { timeoutMs: options.timeoutMs, ...(options.token !== undefined && { token: options.token }) };
}
