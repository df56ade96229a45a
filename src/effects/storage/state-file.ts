/**
 * The STATE file: what a data directory must never forget, in two slots (slots.ts) so that no single torn write
 * or damaged sector takes it back:
 * - the incarnation id, random, made when the directory is: every segment's header carries it too, so that a
 *   segment from another directory (or from before the directory was wiped and made again) is refused;
 * - the hard state (term and vote). The log holds it too, in the record of each persist that changed it, and
 *   the batch holding that record is synced before STATE is written: so recovery takes the newer of the two,
 *   and a vote survives damage to either one, including to the last record of the log, which nothing after it
 *   vouches for (wal.ts).
 *
 * STATE is written only when the hard state changes (an election, a new term), so it costs nothing in the
 * steady state, where a batch of entries carries no hard state.
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, readFile } from 'node:fs/promises';
import type { HardState } from '../../core/index.js';
import type { ByteReader, ByteWriter } from '../binary.js';
import { StorageCorruptionError } from './corruption.js';
import { createFileDurably, writeFully } from './durable-fs.js';
import { statePath } from './layout.js';
import { readHardState, writeHardState } from './record.js';
import { encodeSlot, newestSlot, SLOT_KIND_STATE, SLOTS_BYTES, slotOffset } from './slots.js';
import { writing } from './write-error.js';

export interface DirectoryState {
  readonly incarnation: string;
  readonly hardState: HardState;
}

const MAX_INCARNATION_BYTES = 64;

/** A new incarnation id: 128 random bits, in hex. */
export function newIncarnation(): string {
  return randomBytes(16).toString('hex');
}

export function writeIncarnation(writer: ByteWriter, incarnation: string): void {
  writer.string(incarnation);
}

export function readIncarnation(reader: ByteReader): string {
  return reader.string(MAX_INCARNATION_BYTES);
}

function encodeState(sequence: number, state: DirectoryState): Uint8Array {
  return encodeSlot(SLOT_KIND_STATE, sequence, (writer) => {
    writeIncarnation(writer, state.incarnation);
    writeHardState(writer, state.hardState);
  });
}

/** What STATE holds, or null if there is no STATE file; throws StorageCorruptionError if neither slot is sound. */
export async function readStateFile(
  dir: string,
): Promise<{ state: DirectoryState; sequence: number } | null> {
  const path = statePath(dir);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const newest = newestSlot(bytes, SLOT_KIND_STATE, (reader) => ({
    incarnation: readIncarnation(reader),
    hardState: readHardState(reader),
  }));
  if (!newest.ok) throw new StorageCorruptionError(path, 0, newest.reason, 'state file');
  return { state: newest.value, sequence: newest.sequence };
}

/**
 * The newer of two hard states of one node: the higher term, or in the same term the one with a vote (a vote
 * is cast once per term and never taken back). Two different votes in one term cannot both have been written:
 * that is damage, reported through `conflict`.
 */
export function newerHardState(a: HardState, b: HardState, conflict: (reason: string) => Error): HardState {
  if (a.term !== b.term) return a.term > b.term ? a : b;
  if (a.votedFor === null || a.votedFor === b.votedFor) return b;
  if (b.votedFor === null) return a;
  throw conflict(`term ${a.term} has two votes, for ${a.votedFor} and for ${b.votedFor}`);
}

/** The open STATE file of a data directory. */
export class StateFile {
  readonly #handle: FileHandle;
  readonly #path: string;
  #sequence: number;
  #state: DirectoryState;

  private constructor(path: string, handle: FileHandle, sequence: number, state: DirectoryState) {
    this.#path = path;
    this.#handle = handle;
    this.#sequence = sequence;
    this.#state = state;
  }

  /** Creates STATE in a new directory, both slots filled, so that even its first copy survives one bad slot. */
  static async create(dir: string, state: DirectoryState): Promise<StateFile> {
    const path = statePath(dir);
    const bytes = new Uint8Array(SLOTS_BYTES);
    bytes.set(encodeState(0, state), slotOffset(0));
    bytes.set(encodeState(1, state), slotOffset(1));
    await createFileDurably(path, bytes);
    return StateFile.open(dir, { state, sequence: 1 });
  }

  /** Opens STATE for writing, as `readStateFile` found it. */
  static async open(dir: string, read: { state: DirectoryState; sequence: number }): Promise<StateFile> {
    const path = statePath(dir);
    const handle = await writing(path, 'open', () => open(path, 'r+'));
    return new StateFile(path, handle, read.sequence, read.state);
  }

  get state(): DirectoryState {
    return this.#state;
  }

  /** Writes `hardState` over the older slot and syncs it. */
  async write(hardState: HardState): Promise<void> {
    const sequence = this.#sequence + 1;
    const state = { incarnation: this.#state.incarnation, hardState };
    await writing(this.#path, 'write', async () => {
      await writeFully(this.#handle, encodeState(sequence, state), slotOffset(sequence));
      await this.#handle.datasync();
    });
    this.#sequence = sequence;
    this.#state = state;
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}
