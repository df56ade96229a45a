/**
 * The wire format of a Raft message, and its schema. Bytes from the network are untrusted: `decodeMessage`
 * never throws, and accepts only messages that pass `checkMessage`, so the core only ever sees well-formed
 * ones. `encodeMessage` applies the same check, so a node never sends what its peers would reject.
 *
 * Layout: u8 tag, varint term, string from, string to, then per type:
 * - RequestVote:           varint lastLogIndex, varint lastLogTerm
 * - RequestVoteResponse:   u8 voteGranted (0 or 1)
 * - AppendEntries:         varint prevLogIndex, varint prevLogTerm, varint leaderCommit, varint count, entries
 * - AppendEntriesResponse: u8 success (0 or 1), varint index, varint conflictTerm, varint conflictIndex
 */
import type {
  AppendEntries,
  AppendEntriesResponse,
  Entry,
  Message,
  MessageType,
  NodeId,
  RequestVote,
  RequestVoteResponse,
} from '../../core/index.js';
import { whyMalformed } from '../../core/index.js';
import { ByteReader, ByteWriter, type CommandCodec, readEntry, writeEntry } from '../binary.js';

/** Longest node id, in UTF-8 bytes. */
export const MAX_NODE_ID_BYTES = 256;

/** Default for `MessageLimits.maxEntries`: far above the core's default batch of 64. */
export const DEFAULT_MAX_ENTRIES = 65_536;

export interface MessageLimits {
  /** Most entries in one AppendEntries; must be at least the core's `maxEntriesPerAppend`. */
  readonly maxEntries?: number;
}

export type DecodeResult<C> =
  | { readonly ok: true; readonly message: Message<C> }
  | { readonly ok: false; readonly error: string };

const tags: Readonly<Record<MessageType, number>> = {
  RequestVote: 1,
  RequestVoteResponse: 2,
  AppendEntries: 3,
  AppendEntriesResponse: 4,
};

const textEncoder = new TextEncoder();
/** In a unicode-mode regex, a surrogate range matches only unpaired surrogates: text UTF-8 cannot carry. */
const loneSurrogate = /[\uD800-\uDFFF]/u;

/** Why `id` is not a valid node id, or undefined when it is. */
export function checkNodeId(id: unknown): string | undefined {
  if (typeof id !== 'string' || id.length === 0) return 'node id must be a non-empty string';
  if (loneSurrogate.test(id)) return 'node id is not well-formed Unicode';
  if (textEncoder.encode(id).length > MAX_NODE_ID_BYTES)
    return `node id longer than ${MAX_NODE_ID_BYTES} bytes`;
  return undefined;
}

/**
 * Why `message` does not fit the wire schema, or undefined when it does: the core's own schema
 * (`whyMalformed`: integer fields, contiguous entries, log terms that never decrease or pass the sender's term),
 * plus what the wire bounds: node ids and the number of entries in one message.
 */
export function checkMessage<C>(message: Message<C>, limits: MessageLimits = {}): string | undefined {
  const malformed = whyMalformed(message);
  if (malformed !== undefined) return malformed;
  const badId = checkNodeId(message.from) ?? checkNodeId(message.to);
  if (badId !== undefined) return badId;
  const maxEntries = limits.maxEntries ?? DEFAULT_MAX_ENTRIES;
  if (message.type === 'AppendEntries' && message.entries.length > maxEntries) {
    return `AppendEntries: more than ${maxEntries} entries`;
  }
  return undefined;
}

/** The message's bytes. Throws a RangeError on a message that fails `checkMessage`: that is a caller's bug. */
export function encodeMessage<C>(
  message: Message<C>,
  codec: CommandCodec<C>,
  limits: MessageLimits = {},
): Uint8Array {
  const problem = checkMessage(message, limits);
  if (problem !== undefined) throw new RangeError(`cannot encode ${message.type}: ${problem}`);
  const writer = new ByteWriter();
  writer.u8(tags[message.type]).varint(message.term).string(message.from).string(message.to);
  switch (message.type) {
    case 'RequestVote':
      writer.varint(message.lastLogIndex).varint(message.lastLogTerm);
      break;
    case 'RequestVoteResponse':
      writer.u8(message.voteGranted ? 1 : 0);
      break;
    case 'AppendEntries':
      writer.varint(message.prevLogIndex).varint(message.prevLogTerm).varint(message.leaderCommit);
      writer.varint(message.entries.length);
      for (const entry of message.entries) writeEntry(writer, entry, codec);
      break;
    case 'AppendEntriesResponse':
      writer
        .u8(message.success ? 1 : 0)
        .varint(message.index)
        .varint(message.conflictTerm);
      writer.varint(message.conflictIndex);
      break;
  }
  return writer.finish();
}

/** The message in `bytes`, or why there is none. Never throws, whatever the bytes or the command codec do. */
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
  const term = reader.varint();
  const from = reader.string(MAX_NODE_ID_BYTES);
  const to = reader.string(MAX_NODE_ID_BYTES);
  let message: Message<C>;
  switch (tag) {
    case tags.RequestVote: {
      const vote: RequestVote = {
        type: 'RequestVote',
        term,
        from,
        to,
        lastLogIndex: reader.varint(),
        lastLogTerm: reader.varint(),
      };
      message = vote;
      break;
    }
    case tags.RequestVoteResponse: {
      const response: RequestVoteResponse = {
        type: 'RequestVoteResponse',
        term,
        from,
        to,
        voteGranted: readFlag(reader),
      };
      message = response;
      break;
    }
    case tags.AppendEntries:
      message = readAppendEntries(reader, codec, maxEntries, { term, from, to });
      break;
    case tags.AppendEntriesResponse: {
      const response: AppendEntriesResponse = {
        type: 'AppendEntriesResponse',
        term,
        from,
        to,
        success: readFlag(reader),
        index: reader.varint(),
        conflictTerm: reader.varint(),
        conflictIndex: reader.varint(),
      };
      message = response;
      break;
    }
    default:
      throw new Error(`unknown message tag ${tag}`);
  }
  reader.end();
  return message;
}

function readAppendEntries<C>(
  reader: ByteReader,
  codec: CommandCodec<C>,
  maxEntries: number,
  base: { term: number; from: NodeId; to: NodeId },
): AppendEntries<C> {
  const prevLogIndex = reader.varint();
  const prevLogTerm = reader.varint();
  const leaderCommit = reader.varint();
  const count = reader.varint();
  // Refuse before reading: a forged count must not make us decode (or allocate for) millions of entries.
  if (count > maxEntries) throw new Error(`AppendEntries: more than ${maxEntries} entries`);
  const entries: Entry<C>[] = [];
  for (let i = 0; i < count; i++) entries.push(readEntry(reader, codec));
  return { type: 'AppendEntries', ...base, prevLogIndex, prevLogTerm, leaderCommit, entries };
}

function readFlag(reader: ByteReader): boolean {
  const flag = reader.u8();
  if (flag > 1) throw new Error(`flag byte ${flag} is neither 0 nor 1`);
  return flag === 1;
}

/** A command codec or a handler may throw anything, even values whose properties throw: describe it safely. */
export function describeError(error: unknown): string {
  try {
    return error instanceof Error ? error.message : `non-error thrown: ${String(error)}`;
  } catch {
    return 'undescribable error';
  }
}
