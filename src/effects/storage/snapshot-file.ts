/**
 * A snapshot file: the data as the service wrote it, then a trailer that says what it is, so that a file is
 * complete and self-describing before it is renamed into place (and never needs rewriting):
 *
 *   [data][trailer: UTF-8 JSON { meta, bytes, crc32 }][u32 trailer length][u32 crc32 of trailer]['PRSNAP01']
 *
 * numbers little-endian; `bytes` and `crc32` are the data's. The footer is at a fixed distance from the end,
 * so the trailer is found without reading the data. JSON keeps the trailer readable with `tail -c`.
 */
import { type FileHandle, open } from 'node:fs/promises';
import type { Membership, SnapshotMeta } from '../../core/index.js';
import { parseJsonObject } from '../json-object.js';
import type { SnapshotRef } from '../snapshot-data.js';
import { StorageCorruptionError } from './corruption.js';
import { writeFully } from './durable-fs.js';
import { crc32 } from './frame.js';

const FOOTER_BYTES = 16;
const MAGIC = 'PRSNAP01';
/** Far above any real trailer (a meta with a large membership); bounds what a damaged length makes us read. */
const MAX_TRAILER_BYTES = 1024 * 1024;
/** How much of a snapshot's data is read at once: what bounds the memory a read takes. */
export const SNAPSHOT_CHUNK_BYTES = 64 * 1024;

/** What a snapshot file's trailer holds. */
export interface SnapshotTrailer {
  readonly meta: SnapshotMeta;
  readonly bytes: number;
  readonly crc32: number;
}

/**
 * Appends the trailer to a file that holds exactly the data `ref` describes, and syncs it; returns the file's
 * size. The caller checked `ref` against the data when it was written; the length is checked again here
 * because it costs nothing.
 */
export async function sealSnapshotFile(path: string, meta: SnapshotMeta, ref: SnapshotRef): Promise<number> {
  const handle = await open(path, 'r+');
  try {
    const { size } = await handle.stat();
    if (size !== ref.bytes)
      throw new Error(`snapshot data ${path} has ${size} bytes, its ref says ${ref.bytes}`);
    const trailer = Buffer.from(JSON.stringify({ meta, bytes: ref.bytes, crc32: ref.crc32 }));
    const footer = Buffer.alloc(FOOTER_BYTES);
    footer.writeUInt32LE(trailer.length, 0);
    footer.writeUInt32LE(crc32(trailer), 4);
    footer.write(MAGIC, 8, 'latin1');
    await writeFully(handle, Buffer.concat([trailer, footer]), size);
    await handle.datasync();
    return size + trailer.length + footer.length;
  } finally {
    await handle.close();
  }
}

/** The trailer of a sealed snapshot file; throws `StorageCorruptionError` on anything but a sound one. */
export async function readSnapshotTrailer(path: string): Promise<SnapshotTrailer> {
  const corrupt = (offset: number, reason: string) =>
    new StorageCorruptionError(path, offset, reason, 'snapshot');
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size < FOOTER_BYTES) throw corrupt(0, `${size} bytes is too short for a snapshot file`);
    const footerAt = size - FOOTER_BYTES;
    const footer = await readExactly(handle, footerAt, FOOTER_BYTES);
    if (footer.toString('latin1', 8) !== MAGIC)
      throw corrupt(footerAt, 'no snapshot trailer (bad magic number)');
    const length = footer.readUInt32LE(0);
    if (length > MAX_TRAILER_BYTES || length > footerAt)
      throw corrupt(footerAt, `bad trailer length ${length}`);
    const trailerAt = footerAt - length;
    const text = await readExactly(handle, trailerAt, length);
    if (crc32(text) !== footer.readUInt32LE(4)) throw corrupt(trailerAt, 'trailer checksum mismatch');
    const trailer = parseTrailer(text.toString('utf8'));
    if (trailer === null)
      throw corrupt(trailerAt, 'trailer is not a snapshot meta with the data size and checksum');
    if (trailer.bytes !== trailerAt) {
      throw corrupt(
        trailerAt,
        `the trailer says ${trailer.bytes} bytes of data, the file holds ${trailerAt}`,
      );
    }
    return trailer;
  } finally {
    await handle.close();
  }
}

/**
 * The first `bytes` bytes of an open file, in chunks of at most SNAPSHOT_CHUNK_BYTES, each a fresh buffer the
 * consumer may keep. Checks the data against `crc32` as it goes, and throws `StorageCorruptionError` at the end
 * if it does not match (or the file is shorter). Closes the handle when done, also when the consumer stops.
 */
export async function* readSnapshotData(
  path: string,
  handle: FileHandle,
  data: { readonly bytes: number; readonly crc32: number },
): AsyncGenerator<Uint8Array> {
  try {
    let checksum = 0;
    for (let offset = 0; offset < data.bytes; ) {
      const chunk = Buffer.allocUnsafe(Math.min(SNAPSHOT_CHUNK_BYTES, data.bytes - offset));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, offset);
      if (bytesRead === 0) {
        throw new StorageCorruptionError(
          path,
          offset,
          `data ends before its ${data.bytes} bytes`,
          'snapshot',
        );
      }
      const read = chunk.subarray(0, bytesRead);
      checksum = crc32(read, checksum);
      offset += bytesRead;
      yield read;
    }
    if (checksum !== data.crc32) {
      throw new StorageCorruptionError(path, 0, 'data checksum mismatch', 'snapshot');
    }
  } finally {
    await handle.close();
  }
}

async function readExactly(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  if (bytesRead !== length) throw new Error(`short read: ${bytesRead} of ${length} bytes at ${position}`);
  return buffer;
}

function parseTrailer(text: string): SnapshotTrailer | null {
  const trailer = parseJsonObject(text) as Partial<SnapshotTrailer> | undefined;
  const meta = trailer?.meta;
  const isCount = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  const valid =
    isCount(trailer?.bytes) &&
    isCount(trailer?.crc32) &&
    typeof meta === 'object' &&
    meta !== null &&
    isCount(meta.index) &&
    isCount(meta.term) &&
    isMembership(meta.membership);
  return valid ? (trailer as SnapshotTrailer) : null;
}

function isMembership(value: unknown): value is Membership {
  const isIds = (ids: unknown) => Array.isArray(ids) && ids.every((id) => typeof id === 'string');
  if (typeof value !== 'object' || value === null) return false;
  const { voters, learners, outgoing } = value as Partial<Membership>;
  return isIds(voters) && isIds(learners) && (outgoing === undefined || isIds(outgoing));
}
