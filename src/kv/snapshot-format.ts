/**
 * The key-value service's snapshot: its whole replicated state (every key and value, and the session table
 * that makes retries exactly-once) as bytes, written slice by slice and read back as a stream.
 *
 *   stream  = header frame*
 *   header  = "PRKV" u8 version (2; version 1, without members, still reads)
 *   frame   = u32 payload length, u32 CRC-32 of the payload (little-endian; the write-ahead log's framing), payload
 *   payload = u8 kind, then entries until the payload ends:
 *             1 keys:     (string key, string value)*
 *             2 sessions: (string client, varint seq, string fingerprint, result)*, least recently used first
 *                         (the order the table evicts in, which every replica must agree on)
 *             4 members:  (string id, string raft, string http)*, sorted by id: the address book
 *                         (address-book.ts); version 2 only
 *             3 end:      varint keys, varint sessions, and in version 2 varint members: the totals, so that a
 *                         stream cut at a frame boundary is caught too; nothing may follow it
 *   string  = varint (byte length × 2 + form), bytes: form 0 UTF-8, form 1 UTF-16LE for a string with a lone
 *             surrogate, which UTF-8 cannot carry (a JSON command can hold one, and replicas must agree exactly)
 *   result  = u8 tag, then by tag: 0 none (a read's, not kept); 1 get, 2 put, 3 delete: nullable string;
 *             4 cas: u8 swapped, nullable string; 5 refused: string. nullable string = u8 0 | u8 1 string
 *
 * Every frame is checked on its own, so damage is reported where it is, and a reader holds one frame at a
 * time: a frame holds up to ENTRIES_PER_FRAME entries or about FRAME_TARGET_BYTES (more only for one large
 * entry), and the writer yields to the event loop between frames, so a large state never stalls the node.
 */
import { ByteReader, DecodeError } from '../effects/binary.js';
import { crc32, FRAME_HEADER_BYTES } from '../effects/storage/frame.js';
import type { MemberAddresses } from './address-book.js';
import type { KvResult } from './commands.js';
import type { MapCapture } from './layered-map.js';
import type { LastRequest } from './sessions.js';

const MAGIC = 'PRKV';
export const KV_SNAPSHOT_VERSION = 2;
/** Versions this build reads: 1 has no address book (a cluster that never changed its members). */
const READABLE_VERSIONS: readonly number[] = [1, 2];
const HEADER = Uint8Array.from([...Buffer.from(MAGIC, 'latin1'), KV_SNAPSHOT_VERSION]);

const KEYS = 1;
const SESSIONS = 2;
const END = 3;
const MEMBERS = 4;

/** A slice: entries per frame, and the size past which a frame is closed. */
export const ENTRIES_PER_FRAME = 4096;
export const FRAME_TARGET_BYTES = 64 * 1024;
/**
 * What a frame's buffer starts at: room for the target and the entry that passes it (most are small), so that
 * a frame is one allocation of one size, outside the V8 heap, which the allocator reuses frame after frame
 * (buffers grown by doubling, or larger than its mmap threshold, left the RSS of a node that snapshots a large
 * store tens of MiB higher).
 */
const FRAME_BUFFER_BYTES = FRAME_TARGET_BYTES + 16 * 1024;
/** Largest frame a reader accepts: one entry alone may pass the target, but not this (a damaged length would). */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

export type SessionEntry = readonly [client: string, last: LastRequest];

export type MemberEntry = readonly [id: string, addresses: MemberAddresses];

export interface KvSnapshotContents {
  readonly data: Map<string, string>;
  readonly sessions: SessionEntry[];
  /** The address book; empty from a version 1 snapshot. */
  readonly members: MemberEntry[];
}

/** Snapshot bytes that are not a sound key-value snapshot of a version this build reads. */
export class KvSnapshotError extends Error {
  override readonly name = 'KvSnapshotError';

  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`corrupt key-value snapshot at byte ${offset}: ${reason}`);
  }
}

/**
 * The snapshot of `data` and `sessions`, as frames produced one slice at a time with a turn of the event loop
 * between them. Releases the capture when done, also when the consumer stops early.
 */
export async function* encodeKvSnapshot(
  data: MapCapture,
  sessions: readonly SessionEntry[],
  members: readonly MemberEntry[] = [],
): AsyncGenerator<Uint8Array> {
  try {
    yield HEADER;
    let keys = 0;
    let frame = new FrameBuilder(KEYS);
    for (const [key, value] of data.entries()) {
      frame.string(key).string(value);
      frame.entries++;
      keys++;
      if (frame.full) {
        yield frame.finish();
        await nextTurn();
        frame = new FrameBuilder(KEYS);
      }
    }
    if (frame.entries > 0) yield frame.finish();
    if (keys !== data.size) throw new Error(`snapshot: captured ${data.size} keys, wrote ${keys}`);
    frame = new FrameBuilder(SESSIONS);
    for (const [client, last] of sessions) {
      frame.string(client).varint(last.seq).string(last.fingerprint).result(last.result);
      frame.entries++;
      if (frame.full) {
        yield frame.finish();
        frame = new FrameBuilder(SESSIONS);
      }
    }
    if (frame.entries > 0) yield frame.finish();
    // A handful of members: one frame (a frame may pass its target for good reason, see FrameBuilder).
    if (members.length > 0) {
      frame = new FrameBuilder(MEMBERS);
      for (const [id, { raft, http }] of members) frame.string(id).string(raft).string(http);
      yield frame.finish();
    }
    yield new FrameBuilder(END).varint(keys).varint(sessions.length).varint(members.length).finish();
  } finally {
    data.release();
  }
}

/**
 * Reads a snapshot back, frame by frame as the chunks arrive, holding at most a frame beyond what it has
 * decoded. Throws `KvSnapshotError` on anything but a whole, sound snapshot.
 */
export async function decodeKvSnapshot(chunks: AsyncIterable<Uint8Array>): Promise<KvSnapshotContents> {
  const frames = new FrameReader();
  const contents = new ContentsBuilder();
  for await (const chunk of chunks) {
    frames.push(chunk);
    for (let frame = frames.next(); frame !== null; frame = frames.next())
      contents.add(frame, frames.version);
  }
  frames.end();
  return contents.finish(frames.offset);
}

function varintWidth(value: number): number {
  let width = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) width++;
  return width;
}

/** Lets timers, I/O and other callbacks run: a snapshot of millions of keys must not hold the loop. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

const isWellFormed = (text: string): boolean =>
  (text as unknown as { isWellFormed(): boolean }).isWellFormed();

/** One frame being written: its header is filled in by `finish`. */
class FrameBuilder {
  #buffer = Buffer.allocUnsafe(FRAME_BUFFER_BYTES);
  #length = FRAME_HEADER_BYTES;
  entries = 0;

  constructor(kind: number) {
    this.u8(kind);
  }

  get full(): boolean {
    return this.entries >= ENTRIES_PER_FRAME || this.#length >= FRAME_TARGET_BYTES;
  }

  u8(value: number): this {
    this.#reserve(1);
    this.#buffer[this.#length++] = value;
    return this;
  }

  /** `width` pads it with empty groups (a reader takes a padded varint as it is). */
  varint(value: number, width = varintWidth(value)): this {
    this.#reserve(width);
    let rest = value;
    for (let group = 1; group < width; group++, rest = Math.floor(rest / 0x80)) {
      this.#buffer[this.#length++] = (rest % 0x80) | 0x80;
    }
    this.#buffer[this.#length++] = rest;
    return this;
  }

  /**
   * Writes the string straight into the buffer, without measuring it first (that costs as much as writing):
   * room for the longest encoding is reserved, and the length goes in front in a varint padded to the width
   * that longest length would need.
   */
  string(text: string): this {
    const form = isWellFormed(text) ? 0 : 1;
    const longest = text.length * (form === 0 ? 3 : 2);
    const width = varintWidth(longest * 2 + form);
    this.#reserve(width + longest);
    const length = this.#buffer.write(text, this.#length + width, longest, form === 0 ? 'utf8' : 'utf16le');
    this.varint(length * 2 + form, width);
    this.#length += length;
    return this;
  }

  nullable(text: string | null): this {
    return text === null ? this.u8(0) : this.u8(1).string(text);
  }

  result(result: KvResult | undefined): this {
    if (result === undefined) return this.u8(0);
    switch (result.op) {
      case 'get':
        return this.u8(1).nullable(result.value);
      case 'put':
        return this.u8(2).nullable(result.previous);
      case 'delete':
        return this.u8(3).nullable(result.previous);
      case 'cas':
        return this.u8(4)
          .u8(result.swapped ? 1 : 0)
          .nullable(result.current);
      case 'refused':
        return this.u8(5).string(result.reason);
    }
  }

  /** The whole frame; the builder is not to be used after. */
  finish(): Uint8Array {
    const length = this.#length - FRAME_HEADER_BYTES;
    if (length > MAX_FRAME_BYTES) {
      throw new RangeError(`snapshot: an entry of ${length} bytes is over the limit of ${MAX_FRAME_BYTES}`);
    }
    const payload = this.#buffer.subarray(FRAME_HEADER_BYTES, this.#length);
    this.#buffer.writeUInt32LE(length, 0);
    this.#buffer.writeUInt32LE(crc32(payload), 4);
    return this.#buffer.subarray(0, this.#length);
  }

  #reserve(extra: number): void {
    if (this.#length + extra <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.#buffer.length, this.#length + extra));
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }
}

interface Frame {
  readonly payload: Uint8Array;
  /** Where the frame starts in the stream, for error messages. */
  readonly offset: number;
}

/** Cuts the stream into checked frames; holds the bytes of at most one frame (and the chunk it ends in). */
class FrameReader {
  readonly #chunks: Uint8Array[] = [];
  /** Bytes of `#chunks[0]` already taken. */
  #head = 0;
  #buffered = 0;
  /** Stream offset of the first byte not taken. */
  offset = 0;
  #headerRead = false;
  /** The format version, once the header is read. */
  version = 0;
  /** The header of the frame whose payload is still arriving. */
  #pending: { readonly length: number; readonly crc: number; readonly offset: number } | null = null;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** The next whole frame, or null until more bytes arrive. */
  next(): Frame | null {
    if (!this.#headerRead) {
      if (this.#buffered < HEADER.length) return null;
      const header = this.#take(HEADER.length);
      if (Buffer.from(header.subarray(0, MAGIC.length)).toString('latin1') !== MAGIC)
        throw new KvSnapshotError(0, 'not a key-value snapshot (bad magic number)');
      const version = header[MAGIC.length]!;
      if (!READABLE_VERSIONS.includes(version)) {
        throw new KvSnapshotError(
          MAGIC.length,
          `format version ${version}; this build reads versions ${READABLE_VERSIONS.join(' and ')}`,
        );
      }
      this.version = version;
      this.#headerRead = true;
    }
    if (this.#pending === null) {
      if (this.#buffered < FRAME_HEADER_BYTES) return null;
      const offset = this.offset;
      const header = Buffer.from(this.#take(FRAME_HEADER_BYTES));
      const length = header.readUInt32LE(0);
      if (length === 0 || length > MAX_FRAME_BYTES)
        throw new KvSnapshotError(offset, `bad frame length ${length}`);
      this.#pending = { length, crc: header.readUInt32LE(4), offset };
    }
    const { length, crc, offset } = this.#pending;
    if (this.#buffered < length) return null;
    const payload = this.#take(length);
    this.#pending = null;
    if (crc32(payload) !== crc) throw new KvSnapshotError(offset, 'frame checksum mismatch');
    return { payload, offset };
  }

  /** The stream ended: it must have ended between frames. */
  end(): void {
    if (this.#buffered > 0 || this.#pending !== null || !this.#headerRead) {
      throw new KvSnapshotError(this.offset, 'the snapshot ends in the middle of a frame');
    }
  }

  /** The next `length` bytes (buffered): a view of one chunk when they lie in it, else a copy. */
  #take(length: number): Uint8Array {
    this.#buffered -= length;
    this.offset += length;
    const first = this.#chunks[0]!;
    if (first.length - this.#head >= length) {
      const bytes = first.subarray(this.#head, this.#head + length);
      this.#advance(length);
      return bytes;
    }
    const bytes = new Uint8Array(length);
    for (let filled = 0; filled < length; ) {
      const chunk = this.#chunks[0]!;
      const part = Math.min(chunk.length - this.#head, length - filled);
      bytes.set(chunk.subarray(this.#head, this.#head + part), filled);
      filled += part;
      this.#advance(part);
    }
    return bytes;
  }

  #advance(length: number): void {
    this.#head += length;
    if (this.#head === this.#chunks[0]!.length) {
      this.#chunks.shift();
      this.#head = 0;
    }
  }
}

/** The state being rebuilt from frames, checked as it goes. */
class ContentsBuilder {
  readonly #data = new Map<string, string>();
  readonly #sessions = new Map<string, LastRequest>();
  readonly #members = new Map<string, MemberAddresses>();
  #ended = false;

  add({ payload, offset }: Frame, version: number): void {
    if (this.#ended) throw new KvSnapshotError(offset, 'data after the end of the snapshot');
    const reader = new ByteReader(payload);
    try {
      const kind = reader.u8();
      if (kind === KEYS) this.#keys(reader, offset);
      else if (kind === SESSIONS) this.#sessionsFrom(reader, offset);
      else if (kind === MEMBERS && version >= 2) this.#membersFrom(reader, offset);
      else if (kind === END) this.#end(reader, offset, version);
      else throw new KvSnapshotError(offset, `unknown frame kind ${kind}`);
    } catch (error) {
      if (error instanceof DecodeError) throw new KvSnapshotError(offset, error.message);
      throw error;
    }
  }

  finish(offset: number): KvSnapshotContents {
    if (!this.#ended) throw new KvSnapshotError(offset, 'the snapshot ends before its end frame');
    return { data: this.#data, sessions: [...this.#sessions], members: [...this.#members] };
  }

  #keys(reader: ByteReader, offset: number): void {
    while (reader.remaining > 0) {
      const key = readString(reader);
      const size = this.#data.size;
      this.#data.set(key, readString(reader));
      if (this.#data.size === size)
        throw new KvSnapshotError(offset, `key ${JSON.stringify(key)} appears twice`);
    }
  }

  #sessionsFrom(reader: ByteReader, offset: number): void {
    while (reader.remaining > 0) {
      const client = readString(reader);
      const seq = reader.varint();
      const fingerprint = readString(reader);
      const result = readResult(reader, offset);
      if (this.#sessions.has(client))
        throw new KvSnapshotError(offset, `client ${JSON.stringify(client)} appears twice`);
      this.#sessions.set(client, { seq, fingerprint, result });
    }
  }

  #membersFrom(reader: ByteReader, offset: number): void {
    while (reader.remaining > 0) {
      const id = readString(reader);
      const addresses = { raft: readString(reader), http: readString(reader) };
      if (this.#members.has(id))
        throw new KvSnapshotError(offset, `member ${JSON.stringify(id)} appears twice`);
      this.#members.set(id, addresses);
    }
  }

  #end(reader: ByteReader, offset: number, version: number): void {
    const keys = reader.varint();
    const sessions = reader.varint();
    const members = version >= 2 ? reader.varint() : 0;
    reader.end();
    if (keys !== this.#data.size || sessions !== this.#sessions.size || members !== this.#members.size) {
      throw new KvSnapshotError(
        offset,
        `the end frame counts ${keys} keys, ${sessions} sessions and ${members} members, the snapshot holds ${this.#data.size}, ${this.#sessions.size} and ${this.#members.size}`,
      );
    }
    this.#ended = true;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function readString(reader: ByteReader): string {
  const header = reader.varint();
  const form = header % 2;
  const bytes = reader.take((header - form) / 2);
  if (form === 0) {
    try {
      return utf8.decode(bytes);
    } catch {
      throw new DecodeError('a string that is not valid UTF-8');
    }
  }
  // Not TextDecoder: it replaces lone surrogates, which are the reason for this form.
  if (bytes.length % 2 !== 0) throw new DecodeError('a UTF-16 string of an odd length');
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf16le');
}

function readNullable(reader: ByteReader): string | null {
  const present = reader.u8();
  if (present > 1) throw new DecodeError(`a null flag of ${present}`);
  return present === 0 ? null : readString(reader);
}

function readResult(reader: ByteReader, offset: number): KvResult | undefined {
  const tag = reader.u8();
  switch (tag) {
    case 0:
      return undefined;
    case 1:
      return { op: 'get', value: readNullable(reader) };
    case 2:
      return { op: 'put', previous: readNullable(reader) };
    case 3:
      return { op: 'delete', previous: readNullable(reader) };
    case 4: {
      const swapped = reader.u8();
      if (swapped > 1) throw new DecodeError(`a swapped flag of ${swapped}`);
      return { op: 'cas', swapped: swapped === 1, current: readNullable(reader) };
    }
    case 5:
      return { op: 'refused', reason: readString(reader) };
    default:
      throw new KvSnapshotError(offset, `unknown result tag ${tag}`);
  }
}
