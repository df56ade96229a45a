/**
 * The members' addresses as this node last knew them, kept in its data directory (`peers.json`), so that a
 * restart can reach members that joined after its flags were written. The replicated address book is the
 * truth, but a restarted node knows only what its snapshot holds until it applies the entries after it, and
 * it applies nothing until a leader reaches it: a leader that joined after that snapshot, unknown to the
 * node's transport, would be refused. The cache fills that gap: at start it adds the members the flags do not
 * name (the flags win for those they name: an operator who moved a machine says so there).
 *
 * Written whole or not at all (a temporary file, synced, renamed over the old one, the directory synced), one
 * write at a time, the latest wins; a failure is logged and changes nothing else.
 */
import { readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeId } from '../core/index.js';
import { parseJsonObject } from '../effects/json-object.js';
import { syncDirectory, writeFully } from '../effects/storage/durable-fs.js';
import { formatAddress, type Member, parseHostPort } from './address.js';

export const PEER_CACHE_FILE = 'peers.json';

export class PeerCache {
  /** What the file holds: an unchanged list is not written again. */
  #written: string;
  #pending: string | null = null;
  #writing: Promise<void> | null = null;
  /** The addresses the file held when the node started. */
  readonly members: Readonly<Record<NodeId, Member>>;

  /** Reads the cache in `dataDir`: nothing when there is none, or it cannot be read as one (logged). */
  constructor(
    private readonly dataDir: string,
    private readonly log: (line: string) => void,
  ) {
    const path = join(dataDir, PEER_CACHE_FILE);
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        log(`ignoring ${path}: ${(error as Error).message}`);
    }
    this.#written = text;
    this.members = parseMembers(text);
  }

  /** Keeps `members` (written in the background unless unchanged). */
  save(members: ReadonlyMap<NodeId, Member>): void {
    const text = `${JSON.stringify(
      Object.fromEntries(
        [...members]
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([id, { raft, http }]) => [id, { raft: formatAddress(raft), http: formatAddress(http) }]),
      ),
      null,
      2,
    )}\n`;
    if (text === (this.#pending ?? this.#written)) return;
    this.#pending = text;
    this.#writing ??= this.#drain();
  }

  /** Resolves once nothing is being written. */
  async idle(): Promise<void> {
    await this.#writing;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending !== null) {
        const text = this.#pending;
        this.#pending = null;
        try {
          await this.#write(text);
          this.#written = text;
        } catch (error) {
          this.log(`cannot keep the members' addresses in ${this.dataDir}: ${(error as Error).message}`);
        }
      }
    } finally {
      this.#writing = null;
    }
  }

  async #write(text: string): Promise<void> {
    const path = join(this.dataDir, PEER_CACHE_FILE);
    const temporary = `${path}.tmp`;
    const handle = await open(temporary, 'w');
    try {
      await writeFully(handle, new TextEncoder().encode(text), 0);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
    await syncDirectory(this.dataDir);
  }
}

function parseMembers(text: string): Record<NodeId, Member> {
  const members: Record<NodeId, Member> = {};
  for (const [id, entry] of Object.entries(parseJsonObject(text) ?? {})) {
    const { raft, http } = (entry ?? {}) as Record<string, unknown>;
    const address = {
      raft: typeof raft === 'string' ? parseHostPort(raft) : undefined,
      http: typeof http === 'string' ? parseHostPort(http) : undefined,
    };
    if (address.raft !== undefined && address.http !== undefined)
      members[id] = { raft: address.raft, http: address.http };
  }
  return members;
}
