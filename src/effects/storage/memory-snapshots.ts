/**
 * A `SnapshotStore` in memory, for MemoryStorage: finished data is kept by name until it is released or
 * aborted, or, once persisted, until a newer snapshot replaces it (the rules of snapshot-data.ts). Snapshot
 * data that is not a `SnapshotRef` (plain data, as a simulator or a test may use) passes through storage
 * untouched, and only `read` refuses it.
 */
import type { Snapshot } from '../../core/index.js';
import {
  isSnapshotRef,
  type SnapshotRef,
  type SnapshotStore,
  type SnapshotWriter,
} from '../snapshot-data.js';
import { crc32 } from './frame.js';

export class MemorySnapshotStore implements SnapshotStore {
  readonly #held = new Map<string, Uint8Array>();
  /** The name of the persisted snapshot's data: `abort` leaves it alone. */
  #current: string | null = null;
  #created = 0;

  create(): SnapshotWriter {
    const name = `memory-snapshot-${++this.#created}`;
    const chunks: Uint8Array[] = [];
    let finished = false;
    return {
      write: async (chunk) => {
        if (finished) throw new Error(`snapshot ${name}: write after finish or abort`);
        chunks.push(chunk.slice()); // the caller may reuse its buffer once write resolves
      },
      finish: async () => {
        if (finished) throw new Error(`snapshot ${name}: finish after finish or abort`);
        finished = true;
        const data = Buffer.concat(chunks);
        this.#held.set(name, data);
        return { kind: 'snapshot-ref', name, bytes: data.length, crc32: crc32(data) };
      },
      abort: async () => {
        finished = true;
        if (name !== this.#current) this.#held.delete(name);
      },
    };
  }

  /** How many pieces of data the store holds: the current snapshot's and those not released yet. */
  get size(): number {
    return this.#held.size;
  }

  async release(ref: SnapshotRef): Promise<void> {
    if (ref.name !== this.#current) this.#held.delete(ref.name);
  }

  async *read(snapshot: Snapshot): AsyncIterable<Uint8Array> {
    yield this.#dataOf(snapshot.data);
  }

  /** Throws unless `data` is plain data or a ref this store holds: a persist must not carry a dangling ref. */
  checkPersistable(data: unknown): void {
    if (isSnapshotRef(data)) this.#dataOf(data);
  }

  /** `data` is now the persisted snapshot's: the data of the one it replaced is dropped. */
  persisted(data: unknown): void {
    const replaced = this.#current;
    this.#current = isSnapshotRef(data) ? data.name : null;
    if (replaced !== null && replaced !== this.#current) this.#held.delete(replaced);
  }

  #dataOf(data: unknown): Uint8Array {
    if (!isSnapshotRef(data)) {
      throw new Error(
        'MemorySnapshotStore: snapshot data is not a SnapshotRef, so there are no bytes to read',
      );
    }
    const bytes = this.#held.get(data.name);
    if (bytes === undefined || !sameRef(data, bytes)) {
      throw new Error(`MemorySnapshotStore: no data for snapshot ref ${JSON.stringify(data)}`);
    }
    return bytes;
  }
}

function sameRef(ref: SnapshotRef, bytes: Uint8Array): boolean {
  return ref.bytes === bytes.length && ref.crc32 === crc32(bytes);
}
