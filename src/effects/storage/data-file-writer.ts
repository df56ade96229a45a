/**
 * Writes a new file from chunks, keeping its length and CRC-32 as it goes, so that nothing needs reading back.
 * Calls run one at a time in call order, whether or not the caller awaits each one; after a failure every
 * later call fails too, since the file's contents are then unknown.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { writeFully } from './durable-fs.js';
import { crc32 } from './frame.js';

export class DataFileWriter {
  readonly #handle: Promise<FileHandle>;
  /** The last operation queued; the next one starts when it settles. */
  #tail: Promise<unknown>;
  #bytes = 0;
  #crc32 = 0;
  /** False once `finish` or `close` was called: no call after those is taken. */
  #accepting = true;
  #closed = false;

  /** Creates the file; it must not exist. */
  constructor(readonly path: string) {
    this.#handle = open(path, 'wx');
    // A failure to create surfaces in the first call; this only keeps it from counting as unhandled.
    this.#handle.catch(() => {});
    this.#tail = this.#handle;
  }

  /** Resolves once the chunk was handed to the file. */
  write(chunk: Uint8Array): Promise<void> {
    return this.#then(async (handle) => {
      await writeFully(handle, chunk, this.#bytes);
      this.#bytes += chunk.length;
      this.#crc32 = crc32(chunk, this.#crc32);
    });
  }

  /** Syncs and closes the file; resolves with the length and checksum of what was written. */
  finish(): Promise<{ bytes: number; crc32: number }> {
    const result = this.#then(async (handle) => {
      await handle.datasync();
      await this.#close(handle);
      return { bytes: this.#bytes, crc32: this.#crc32 };
    });
    this.#accepting = false;
    return result;
  }

  /** Closes the file once the calls before it are done, whatever their outcome; no later call is taken. */
  async close(): Promise<void> {
    this.#accepting = false;
    await this.#tail.catch(() => {});
    const handle = await this.#handle.catch(() => null);
    if (handle !== null) await this.#close(handle);
  }

  async #close(handle: FileHandle): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await handle.close();
  }

  #then<T>(operation: (handle: FileHandle) => Promise<T>): Promise<T> {
    if (!this.#accepting) return Promise.reject(new Error(`${this.path}: the data was finished or aborted`));
    const result = this.#tail.then(() => this.#handle).then(operation);
    // A failed operation fails every later one: the chain passes the rejection on.
    this.#tail = result;
    return result;
  }
}
