/**
 * Compact binary encoding shared by the disk log and the network transport: unsigned varints, length-prefixed
 * byte strings and UTF-8 strings, and log entries. A reader never reads past its buffer: every read is
 * bounds-checked and a short or malformed buffer throws a `DecodeError`, which callers at the boundary catch.
 */
import type { Entry, EntryKind, Membership, NodeId } from '../core/index.js';

/** Turns a service's commands into bytes and back. `decode` throws on bytes it does not accept. */
export interface CommandCodec<C> {
  encode(command: C): Uint8Array;
  decode(bytes: Uint8Array): C;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Commands as JSON text: works for any plain-data command. */
export function jsonCodec<C>(): CommandCodec<C> {
  return {
    encode: (command) => textEncoder.encode(JSON.stringify(command)),
    decode: (bytes) => JSON.parse(textDecoder.decode(bytes)) as C,
  };
}

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

export class ByteWriter {
  private buffer: Uint8Array;
  private length = 0;

  constructor(initialCapacity = 256) {
    this.buffer = new Uint8Array(initialCapacity);
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < this.length + extra) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  u8(value: number): this {
    this.reserve(1);
    this.buffer[this.length++] = value & 0xff;
    return this;
  }

  /** Unsigned LEB128 of a non-negative safe integer. */
  varint(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint out of range: ${value}`);
    let rest = value;
    while (rest >= 0x80) {
      this.u8((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    return this.u8(rest);
  }

  bytes(value: Uint8Array): this {
    this.varint(value.length);
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
    return this;
  }

  string(value: string): this {
    return this.bytes(textEncoder.encode(value));
  }

  finish(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}

export class ByteReader {
  private offset = 0;

  constructor(private readonly buffer: Uint8Array) {}

  get remaining(): number {
    return this.buffer.length - this.offset;
  }

  u8(): number {
    if (this.offset >= this.buffer.length) throw new DecodeError('unexpected end of data');
    return this.buffer[this.offset++]!;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.u8();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (!Number.isSafeInteger(value)) throw new DecodeError('varint exceeds the safe integer range');
        return value;
      }
      scale *= 0x80;
    }
    throw new DecodeError('varint too long');
  }

  bytes(maxLength = this.remaining): Uint8Array {
    const length = this.varint();
    if (length > maxLength) throw new DecodeError(`byte string of ${length} bytes does not fit`);
    return this.take(length);
  }

  /** The next `length` bytes as they are (no length prefix), without a copy. */
  take(length: number): Uint8Array {
    if (length > this.remaining) throw new DecodeError(`byte string of ${length} bytes does not fit`);
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  string(maxLength = this.remaining): string {
    try {
      return textDecoder.decode(this.bytes(maxLength));
    } catch (error) {
      if (error instanceof DecodeError) throw error;
      throw new DecodeError('string is not valid UTF-8');
    }
  }

  /** Throws unless every byte was consumed: trailing bytes mean the data is not what we think. */
  end(): void {
    if (this.remaining !== 0) throw new DecodeError(`${this.remaining} trailing bytes`);
  }
}

/** Longest node id, in UTF-8 bytes. */
export const MAX_NODE_ID_BYTES = 256;

/**
 * Most node ids in one list of a membership: far above any real cluster, and low enough that a forged count
 * cannot make a reader allocate much before the data runs out.
 */
export const MAX_MEMBERS = 1_000;

/**
 * Layout: varint count and ids of `voters`, the same of `learners`, then u8 has-outgoing (0 or 1) and, when 1,
 * `outgoing` like the others. Throws a RangeError on a list longer than `MAX_MEMBERS`: a writer never writes
 * what its reader refuses.
 */
export function writeMembership(writer: ByteWriter, membership: Membership): void {
  writeIds(writer, membership.voters);
  writeIds(writer, membership.learners);
  if (membership.outgoing === undefined) writer.u8(0);
  else writeIds(writer.u8(1), membership.outgoing);
}

export function readMembership(reader: ByteReader): Membership {
  const voters = readIds(reader);
  const learners = readIds(reader);
  const hasOutgoing = reader.u8();
  if (hasOutgoing > 1) throw new DecodeError(`outgoing flag ${hasOutgoing} is neither 0 nor 1`);
  return hasOutgoing === 1 ? { voters, learners, outgoing: readIds(reader) } : { voters, learners };
}

function writeIds(writer: ByteWriter, ids: readonly NodeId[]): void {
  if (ids.length > MAX_MEMBERS) throw new RangeError(`a membership list of more than ${MAX_MEMBERS} ids`);
  writer.varint(ids.length);
  for (const id of ids) writer.string(id);
}

function readIds(reader: ByteReader): NodeId[] {
  const count = reader.varint();
  // Refuse before reading: a forged count must not make us allocate for it.
  if (count > MAX_MEMBERS) throw new DecodeError(`a membership list of more than ${MAX_MEMBERS} ids`);
  const ids: NodeId[] = [];
  for (let i = 0; i < count; i++) ids.push(reader.string(MAX_NODE_ID_BYTES));
  return ids;
}

const entryKinds: readonly EntryKind[] = ['command', 'noop', 'config'];

/**
 * Layout: varint index, varint term, u8 kind (0 command, 1 noop, 2 config), then for a command its codec's
 * bytes (length-prefixed), for a config entry its membership. Throws a RangeError on a config entry without
 * a membership.
 */
export function writeEntry<C>(writer: ByteWriter, entry: Entry<C>, codec: CommandCodec<C>): void {
  writer.varint(entry.index).varint(entry.term).u8(entryKinds.indexOf(entry.kind));
  if (entry.kind === 'command') writer.bytes(codec.encode(entry.command as C));
  else if (entry.kind === 'config') {
    if (entry.membership === undefined) throw new RangeError(`config entry ${entry.index} has no membership`);
    writeMembership(writer, entry.membership);
  }
}

export function readEntry<C>(reader: ByteReader, codec: CommandCodec<C>): Entry<C> {
  const index = reader.varint();
  const term = reader.varint();
  const kind = entryKinds[reader.u8()];
  if (kind === undefined) throw new DecodeError('unknown entry kind');
  if (kind === 'noop') return { index, term, kind };
  if (kind === 'config') return { index, term, kind, membership: readMembership(reader) };
  const payload = reader.bytes();
  let command: C;
  try {
    command = codec.decode(payload);
  } catch (error) {
    throw new DecodeError(`command does not decode: ${(error as Error).message}`);
  }
  return { index, term, kind, command };
}
