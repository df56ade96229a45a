/**
 * The wire format of a Raft message, and its schema. Bytes from the network are untrusted: `decodeMessage`
 * never throws, and accepts only messages that pass `checkMessage`, so the core only ever sees well-formed
 * ones. `encodeMessage` applies the same check, so a node never sends what its peers would reject.
 *
 * Layout: u8 tag, varint term, string from, string to, then the type's fields in the order `layouts` lists
 * them (a count as a varint, a flag as a byte 0 or 1), then:
 * - AppendEntries:   varint count, then each entry as `writeEntry` in binary.ts;
 * - InstallSnapshot: varint meta.index, varint meta.term, meta.membership as `writeMembership` in binary.ts.
 *   The snapshot's data is not in the frame: `decodeMessage` gives `data: null`, and whoever carried the data
 *   puts it in (the TCP transport's snapshot transfers, see snapshot-wire.ts; the memory network as is).
 */
import type { Entry, Membership, Message, MessageType, SnapshotMeta } from '../../core/index.js';
import { whyMalformed } from '../../core/index.js';
import { utf8Length } from '../../core/utf8.js';
import {
  ByteReader,
  ByteWriter,
  type CommandCodec,
  DecodeError,
  MAX_MEMBERS,
  MAX_NODE_ID_BYTES,
  readEntry,
  readMembership,
  writeEntry,
  writeMembership,
} from '../binary.js';

export { MAX_NODE_ID_BYTES } from '../binary.js';

/** Default for `MessageLimits.maxEntries`: far above the core's default batch of 64. */
export const DEFAULT_MAX_ENTRIES = 65_536;

export interface MessageLimits {
  /** Most entries in one AppendEntries; must be at least the core's `maxEntriesPerAppend`. */
  readonly maxEntries?: number;
}

export type DecodeResult<C> =
  | { readonly ok: true; readonly message: Message<C> }
  | { readonly ok: false; readonly error: string };

type MessageOf<T extends MessageType> = Extract<Message<unknown>, { readonly type: T }>;

/** A field after the common ones: a non-negative integer (varint) or a boolean (one byte). */
type Field<M> = readonly [name: keyof M & string, kind: 'count' | 'flag'];

/** Each type's tag and fields, in wire order. The tags are the protocol's: never reuse or renumber one. */
const layouts: {
  readonly [T in MessageType]: { readonly tag: number; readonly fields: readonly Field<MessageOf<T>>[] };
} = {
  RequestVote: {
    tag: 1,
    fields: [
      ['lastLogIndex', 'count'],
      ['lastLogTerm', 'count'],
      ['transfer', 'flag'],
    ],
  },
  RequestVoteResponse: { tag: 2, fields: [['voteGranted', 'flag']] },
  AppendEntries: {
    tag: 3,
    fields: [
      ['prevLogIndex', 'count'],
      ['prevLogTerm', 'count'],
      ['leaderCommit', 'count'],
      ['round', 'count'],
    ],
  },
  AppendEntriesResponse: {
    tag: 4,
    fields: [
      ['success', 'flag'],
      ['index', 'count'],
      ['conflictTerm', 'count'],
      ['conflictIndex', 'count'],
      ['round', 'count'],
    ],
  },
  PreVote: {
    tag: 5,
    fields: [
      ['lastLogIndex', 'count'],
      ['lastLogTerm', 'count'],
    ],
  },
  PreVoteResponse: { tag: 6, fields: [['voteGranted', 'flag']] },
  InstallSnapshot: { tag: 7, fields: [['round', 'count']] },
  InstallSnapshotResponse: {
    tag: 8,
    fields: [
      ['index', 'count'],
      ['round', 'count'],
    ],
  },
  TimeoutNow: { tag: 9, fields: [] },
};

const typeByTag = new Map(Object.entries(layouts).map(([type, { tag }]) => [tag, type as MessageType]));

/** In a unicode-mode regex, a surrogate range matches only unpaired surrogates: text UTF-8 cannot carry. */
const loneSurrogate = /[\uD800-\uDFFF]/u;

/** Why `id` is not a valid node id, or undefined when it is. */
export function checkNodeId(id: unknown): string | undefined {
  if (typeof id !== 'string' || id.length === 0) return 'node id must be a non-empty string';
  if (loneSurrogate.test(id)) return 'node id is not well-formed Unicode';
  if (utf8Length(id) > MAX_NODE_ID_BYTES) return `node id longer than ${MAX_NODE_ID_BYTES} bytes`;
  // Ids key plain objects here and there (routes, peers, the address book's file): one of these names would
  // find what every object has instead of the member, and such a node could never be reached.
  if (id in Object.prototype) return `node id ${JSON.stringify(id)} is a name every JavaScript object has`;
  return undefined;
}

/**
 * Why `message` does not fit the wire schema, or undefined when it does: every field of the type's shape and
 * within what the wire bounds (node ids, entries in one message, ids in a membership), then the core's own
 * schema (`whyMalformed`: contiguous entries, log terms that never decrease or pass the sender's term, ...).
 */
export function checkMessage<C>(message: Message<C>, limits: MessageLimits = {}): string | undefined {
  const problem = whyUnfit(message, limits.maxEntries ?? DEFAULT_MAX_ENTRIES);
  if (problem !== undefined) return problem;
  return whyMalformed(message);
}

/** The message's bytes. Throws a RangeError on a message that fails `checkMessage`: that is a caller's bug. */
export function encodeMessage<C>(
  message: Message<C>,
  codec: CommandCodec<C>,
  limits: MessageLimits = {},
): Uint8Array {
  const problem = checkMessage(message, limits);
  if (problem !== undefined) throw new RangeError(`cannot encode ${message.type}: ${problem}`);
  const { tag, fields } = layouts[message.type];
  const writer = new ByteWriter();
  writer.u8(tag).varint(message.term).string(message.from).string(message.to);
  const values = message as unknown as Readonly<Record<string, number | boolean>>;
  for (const [name, kind] of fields as readonly Field<unknown>[]) {
    if (kind === 'count') writer.varint(values[name] as number);
    else writer.u8(values[name] ? 1 : 0);
  }
  if (message.type === 'AppendEntries') {
    writer.varint(message.entries.length);
    for (const entry of message.entries) writeEntry(writer, entry, codec);
  } else if (message.type === 'InstallSnapshot') {
    const { index, term, membership } = message.snapshot.meta;
    writeMembership(writer.varint(index).varint(term), membership);
  }
  return writer.finish();
}

/**
 * The message in `bytes`, or why there is none. Never throws, whatever the bytes or the command codec do.
 * An InstallSnapshot comes with `data: null` (see the layout above).
 */
export function decodeMessage<C>(
  bytes: Uint8Array,
  codec: CommandCodec<C>,
  limits: MessageLimits = {},
): DecodeResult<C> {
  let message: Message<C>;
  try {
    message = readMessage(new ByteReader(bytes), codec, limits.maxEntries ?? DEFAULT_MAX_ENTRIES);
  } catch (error) {
    return { ok: false, error: describeError(error) };
  }
  const problem = checkMessage(message, limits);
  return problem === undefined ? { ok: true, message } : { ok: false, error: problem };
}

function readMessage<C>(reader: ByteReader, codec: CommandCodec<C>, maxEntries: number): Message<C> {
  const tag = reader.u8();
  const type = typeByTag.get(tag);
  if (type === undefined) throw new DecodeError(`unknown message tag ${tag}`);
  const message: Record<string, unknown> = {
    type,
    term: reader.varint(),
    from: reader.string(MAX_NODE_ID_BYTES),
    to: reader.string(MAX_NODE_ID_BYTES),
  };
  for (const [name, kind] of layouts[type].fields as readonly Field<unknown>[]) {
    message[name] = kind === 'count' ? reader.varint() : readFlag(reader);
  }
  if (type === 'AppendEntries') message.entries = readEntries(reader, codec, maxEntries);
  else if (type === 'InstallSnapshot') message.snapshot = { meta: readSnapshotMeta(reader), data: null };
  reader.end();
  // The shape is the layout's; `checkMessage` checks the rest before anyone sees it.
  return message as unknown as Message<C>;
}

function readEntries<C>(reader: ByteReader, codec: CommandCodec<C>, maxEntries: number): Entry<C>[] {
  const count = reader.varint();
  // Refuse before reading: a forged count must not make us decode (or allocate for) millions of entries.
  if (count > maxEntries) throw new DecodeError(`AppendEntries: more than ${maxEntries} entries`);
  const entries: Entry<C>[] = [];
  for (let i = 0; i < count; i++) entries.push(readEntry(reader, codec));
  return entries;
}

function readSnapshotMeta(reader: ByteReader): SnapshotMeta {
  return { index: reader.varint(), term: reader.varint(), membership: readMembership(reader) };
}

function readFlag(reader: ByteReader): boolean {
  const flag = reader.u8();
  if (flag > 1) throw new DecodeError(`flag byte ${flag} is neither 0 nor 1`);
  return flag === 1;
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const isObject = <T>(value: T): value is T & object => typeof value === 'object' && value !== null;

/** What the wire needs of a message's shape: what `encodeMessage` can write and `decodeMessage` read back. */
function whyUnfit<C>(message: Message<C>, maxEntries: number): string | undefined {
  if (!isObject(message)) return 'message must be an object';
  const layout = Object.hasOwn(layouts, message.type) ? layouts[message.type] : undefined;
  if (layout === undefined) return `unknown message type ${JSON.stringify(message.type)}`;
  if (!isCount(message.term)) return 'term must be a non-negative integer';
  const badId = checkNodeId(message.from) ?? checkNodeId(message.to);
  if (badId !== undefined) return badId;
  const values = message as unknown as Readonly<Record<string, unknown>>;
  for (const [name, kind] of layout.fields as readonly Field<unknown>[]) {
    if (kind === 'count' && !isCount(values[name]))
      return `${message.type}: ${name} must be a non-negative integer`;
    if (kind === 'flag' && typeof values[name] !== 'boolean')
      return `${message.type}: ${name} must be boolean`;
  }
  if (message.type === 'AppendEntries') return whyEntriesUnfit(message.entries, maxEntries);
  if (message.type === 'InstallSnapshot') return whySnapshotUnfit(message.snapshot);
  return undefined;
}

function whyEntriesUnfit<C>(entries: readonly Entry<C>[], maxEntries: number): string | undefined {
  if (!Array.isArray(entries)) return 'AppendEntries: entries must be an array';
  if (entries.length > maxEntries) return `AppendEntries: more than ${maxEntries} entries`;
  for (const [offset, entry] of entries.entries()) {
    if (!isObject(entry)) return `AppendEntries: entry ${offset} must be an object`;
    const hasMembership = entry.membership !== undefined;
    if (hasMembership !== (entry.kind === 'config'))
      return `AppendEntries: entry ${offset}: a membership goes exactly with a config entry`;
    const problem = hasMembership ? whyMembershipUnfit(entry.membership) : undefined;
    if (problem !== undefined) return `AppendEntries: entry ${offset}: ${problem}`;
  }
  return undefined;
}

function whySnapshotUnfit(snapshot: unknown): string | undefined {
  if (!isObject(snapshot)) return 'InstallSnapshot: snapshot must be an object';
  const { meta } = snapshot as { meta?: Partial<SnapshotMeta> };
  if (!isObject(meta)) return 'InstallSnapshot: snapshot.meta must be an object';
  if (!isCount(meta.index) || !isCount(meta.term))
    return 'InstallSnapshot: snapshot index and term must be non-negative integers';
  const problem = whyMembershipUnfit(meta.membership);
  return problem === undefined ? undefined : `InstallSnapshot: ${problem}`;
}

function whyMembershipUnfit(membership: unknown): string | undefined {
  if (!isObject(membership)) return 'membership must be an object';
  const { voters, learners, outgoing } = membership as Partial<Membership>;
  const lists = { voters, learners, ...(outgoing === undefined ? {} : { outgoing }) };
  for (const [name, ids] of Object.entries(lists)) {
    if (!Array.isArray(ids)) return `membership ${name} must be an array`;
    if (ids.length > MAX_MEMBERS) return `membership ${name} lists more than ${MAX_MEMBERS} ids`;
    for (const id of ids) {
      const problem = checkNodeId(id);
      if (problem !== undefined) return `membership ${name}: ${problem}`;
    }
  }
  return undefined;
}

/** A command codec or a handler may throw anything, even values whose properties throw: describe it safely. */
export function describeError(error: unknown): string {
  try {
    return error instanceof Error ? error.message : `non-error thrown: ${String(error)}`;
  } catch {
    return 'undescribable error';
  }
}
