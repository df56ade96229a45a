/**
 * The payload of a write-ahead log record. One record holds one whole `persist` effect: its hard state, its
 * snapshot, its truncation and its entries, in the order the contract applies them. A record is checksummed as
 * a unit, so recovery sees each persist entirely or not at all, and the log replays to the state after some
 * prefix of the persist calls, never to a state in the middle of one.
 *
 * A snapshot is recorded by its index only: its meta and data are in its own file (snapshot-file.ts). The
 * record marks the place in the log's history where that snapshot takes over, and tells recovery whether the
 * snapshot file was made current (see disk.ts).
 *
 * Layout: u8 record type (1 = persist), u8 flags (which parts follow), then
 *   hard state: varint term, u8 has-vote, [string votedFor];  snapshot: varint index;
 *   truncate: varint truncateFrom;  entries: varint count, then each entry as `writeEntry` in binary.ts.
 */
import type { Entry, EntryKind, HardState } from '../../core/index.js';
import {
  ByteReader,
  ByteWriter,
  type CommandCodec,
  DecodeError,
  MAX_NODE_ID_BYTES,
  readEntry,
  writeEntry,
} from '../binary.js';
import type { PersistEffect } from './storage.js';

const PERSIST_RECORD = 1;
const HAS_HARD_STATE = 1;
const HAS_TRUNCATE = 2;
const HAS_ENTRIES = 4;
const HAS_SNAPSHOT = 8;
const KNOWN_FLAGS = HAS_HARD_STATE | HAS_TRUNCATE | HAS_ENTRIES | HAS_SNAPSHOT;
const ENTRY_KINDS: readonly EntryKind[] = ['command', 'noop', 'config'];

/** A persist as the log holds it: a snapshot is only its index. */
export type PersistRecord<C> = Omit<PersistEffect<C>, 'snapshot'> & { readonly snapshotIndex?: number };

/** Whether the effect changes nothing, and so needs no record at all. */
export function isEmptyPersist(effect: PersistEffect<unknown>): boolean {
  return (
    effect.hardState === undefined &&
    effect.snapshot === undefined &&
    effect.truncateFrom === undefined &&
    (effect.entries === undefined || effect.entries.length === 0)
  );
}

export function encodePersistRecord<C>(effect: PersistEffect<C>, codec: CommandCodec<C>): Uint8Array {
  const entries = effect.entries ?? [];
  const flags =
    (effect.hardState !== undefined ? HAS_HARD_STATE : 0) |
    (effect.snapshot !== undefined ? HAS_SNAPSHOT : 0) |
    (effect.truncateFrom !== undefined ? HAS_TRUNCATE : 0) |
    (entries.length > 0 ? HAS_ENTRIES : 0);
  const writer = new ByteWriter().u8(PERSIST_RECORD).u8(flags);
  if (effect.hardState !== undefined) writeHardState(writer, effect.hardState);
  if (effect.snapshot !== undefined) writer.varint(effect.snapshot.meta.index);
  if (effect.truncateFrom !== undefined) writer.varint(effect.truncateFrom);
  if (entries.length > 0) {
    writer.varint(entries.length);
    for (const entry of entries) {
      checkEntry(entry);
      writeEntry(writer, entry, codec);
    }
  }
  return writer.finish();
}

/**
 * Refuses an entry that would be written but not read back: a record that cannot be replayed would make the
 * whole log refuse to open, so a malformed entry must fail its own persist call instead.
 */
function checkEntry(entry: Entry<unknown>): void {
  if (!ENTRY_KINDS.includes(entry.kind))
    throw new Error(`persist: entry ${entry.index} has unknown kind ${entry.kind}`);
  if ((entry.kind === 'command') !== (entry.command !== undefined)) {
    throw new Error(`persist: entry ${entry.index} must have a command exactly when its kind is 'command'`);
  }
}

/** A hard state as records and the STATE file hold it: varint term, u8 has-vote, [string votedFor]. */
export function writeHardState(writer: ByteWriter, hardState: HardState): void {
  writer.varint(hardState.term);
  if (hardState.votedFor === null) writer.u8(0);
  else writer.u8(1).string(hardState.votedFor);
}

export function readHardState(reader: ByteReader): HardState {
  const term = reader.varint();
  const hasVote = reader.u8();
  if (hasVote > 1) throw new DecodeError(`bad vote flag ${hasVote}`);
  return { term, votedFor: hasVote === 1 ? reader.string(MAX_NODE_ID_BYTES) : null };
}

/** Throws `DecodeError` on a payload that is not a well-formed record. */
export function decodePersistRecord<C>(payload: Uint8Array, codec: CommandCodec<C>): PersistRecord<C> {
  const reader = new ByteReader(payload);
  const type = reader.u8();
  if (type !== PERSIST_RECORD) throw new DecodeError(`unknown record type ${type}`);
  const flags = reader.u8();
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new DecodeError(`unknown record flags ${flags}`);
  let hardState: HardState | undefined;
  let snapshotIndex: number | undefined;
  let truncateFrom: number | undefined;
  let entries: Entry<C>[] | undefined;
  if (flags & HAS_HARD_STATE) hardState = readHardState(reader);
  if (flags & HAS_SNAPSHOT) snapshotIndex = reader.varint();
  if (flags & HAS_TRUNCATE) truncateFrom = reader.varint();
  if (flags & HAS_ENTRIES) {
    const count = reader.varint();
    // Each entry takes at least 3 bytes, so a count beyond that is garbage; checking first bounds the work.
    if (count > reader.remaining / 3) throw new DecodeError(`entry count ${count} does not fit`);
    entries = [];
    for (let i = 0; i < count; i++) entries.push(readEntry(reader, codec));
  }
  reader.end();
  return {
    type: 'persist',
    ...(hardState !== undefined && { hardState }),
    ...(snapshotIndex !== undefined && { snapshotIndex }),
    ...(truncateFrom !== undefined && { truncateFrom }),
    ...(entries !== undefined && { entries }),
  };
}
