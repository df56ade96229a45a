/**
 * The `SnapshotStore` of a DiskStorage: snapshot data lives in files in the data directory (layout.ts).
 *
 * A writer streams into a new temporary file and syncs it on `finish`. A persist carrying its ref claims the
 * file (nothing else may carry it or delete it), and DiskStorage makes it current: `seal` appends the trailer,
 * `install` renames it into place and then deletes the previous snapshot's file.
 *
 * Finished data that no persist carries is deleted only when its holder says so (`release`, or `abort` of its
 * writer), or when the store closes, never because something else happened meanwhile: a snapshot the transport
 * has just received may wait in the node's queue while the node persists another one, and must still be there
 * when the core steps it. The runtime releases every received ref the core did not persist as soon as the core
 * has stepped it, so what is held beyond the current snapshot is what is on its way to the core. Reopening
 * deletes whatever a crash left behind.
 *
 * `read` serves the current snapshot (by the ref a persist carried, or the one `load` returned) and data
 * finished and not yet deleted, in bounded chunks; a file renamed or deleted while it is being read stays
 * readable through the handle already open.
 */
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Snapshot, SnapshotMeta } from '../../core/index.js';
import {
  isSnapshotRef,
  type SnapshotRef,
  type SnapshotStore,
  type SnapshotWriter,
} from '../snapshot-data.js';
import { DataFileWriter } from './data-file-writer.js';
import { removeDurably, syncDirectory } from './durable-fs.js';
import { snapshotPath, temporarySnapshotName } from './layout.js';
import { readSnapshotData, sealSnapshotFile } from './snapshot-file.js';
import { writing } from './write-error.js';

/** Snapshot data this store holds: the ref it goes by, and its file. */
export interface HeldData {
  readonly ref: SnapshotRef;
  readonly path: string;
}

/** Data a persist carries. */
export type Claim = HeldData;

export class DiskSnapshotStore implements SnapshotStore {
  readonly #dir: string;
  #open = false;
  #current: HeldData | null = null;
  /** Data written and finished that no persist carries yet, by name. */
  readonly #finished = new Map<string, HeldData>();
  /** Data carried by a persist that has not made it current yet, by name. */
  readonly #claimed = new Map<string, HeldData>();
  /** Writers not finished yet: closing the store aborts them. */
  readonly #writing = new Set<DataFileWriter>();

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Takes writes from now on; `current` is the snapshot recovery found. Recovery deletes temporary files, so
   *  nothing may be written before it is done. */
  start(current: HeldData | null): void {
    this.#current = current;
    this.#open = true;
  }

  /** Aborts the writers in progress and deletes finished data that no persist carries; takes nothing more. */
  async stop(): Promise<void> {
    this.#open = false;
    const writers = [...this.#writing];
    this.#writing.clear();
    const unclaimed = [...this.#finished.values()].map((data) => data.path);
    this.#finished.clear();
    await Promise.all(writers.map(async (writer) => this.#discard(writer)));
    await Promise.all(unclaimed.map((path) => rm(path, { force: true })));
  }

  create(): SnapshotWriter {
    if (!this.#open)
      throw new Error('DiskStorage: snapshot data can be written only while the storage is open');
    const name = temporarySnapshotName();
    const writer = new DataFileWriter(join(this.#dir, name));
    this.#writing.add(writer);
    return {
      write: (chunk) => writer.write(chunk),
      finish: async () => {
        const { bytes, crc32 } = await writer.finish();
        // An abort, or closing the storage, while the sync ran has deleted the file by now.
        if (!this.#writing.delete(writer)) throw new Error(`${writer.path}: aborted`);
        const ref: SnapshotRef = { kind: 'snapshot-ref', name, bytes, crc32 };
        this.#finished.set(name, { ref, path: writer.path });
        return ref;
      },
      abort: async () => {
        this.#writing.delete(writer);
        this.#finished.delete(name);
        // Data a persist carries is the storage's now: only what no persist took is deleted.
        if (!this.#claimed.has(name) && this.#current?.ref.name !== name) await this.#discard(writer);
      },
    };
  }

  /** The holder of `ref` will not persist it: its data goes, unless a persist carries it or it is current. */
  async release(ref: SnapshotRef): Promise<void> {
    const finished = this.#finished.get(ref.name);
    if (finished === undefined || !sameRef(finished.ref, ref)) return;
    this.#finished.delete(ref.name);
    // No directory sync: a name that comes back after a crash is a leftover, which reopening deletes.
    await rm(finished.path, { force: true });
  }

  async *read(snapshot: Snapshot): AsyncIterable<Uint8Array> {
    const { data } = snapshot;
    if (!isSnapshotRef(data)) {
      throw new Error('DiskStorage: snapshot data is not a SnapshotRef, so there is no file to read');
    }
    const { path, handle } = await this.#openHeld(data);
    yield* readSnapshotData(path, handle, data);
  }

  /**
   * For a persist call: checks that `data` is a ref to data this store finished and that no other persist
   * carries, and hands it to that persist. Throws otherwise, changing nothing.
   */
  claim(data: unknown): Claim {
    if (!isSnapshotRef(data)) {
      throw new Error('DiskStorage: a persisted snapshot must carry a SnapshotRef from storage.snapshots');
    }
    const finished = this.#finished.get(data.name);
    if (finished === undefined || !sameRef(finished.ref, data)) {
      throw new Error(
        `DiskStorage: cannot persist snapshot data ${JSON.stringify(data)}: it is not data finished by` +
          ' storage.snapshots that no other persist carries',
      );
    }
    this.#finished.delete(data.name);
    this.#claimed.set(data.name, finished);
    return finished;
  }

  /** Appends the trailer and syncs: the file is whole before anything points at it. Returns its size. */
  seal(claim: Claim, meta: SnapshotMeta): Promise<number> {
    return sealSnapshotFile(claim.path, meta, claim.ref);
  }

  /**
   * Renames the sealed file into place, durably: from then on it is the current snapshot, also after a crash.
   * Then deletes the snapshot it replaced. `renamed` hears of the rename as it happens: past it, the file is
   * current for a recovery even if the directory's sync then fails.
   */
  async install(claim: Claim, meta: SnapshotMeta, renamed: () => void = () => {}): Promise<void> {
    const path = snapshotPath(this.#dir, meta.index);
    await writing(path, 'rename', () => rename(claim.path, path));
    renamed();
    await writing(this.#dir, 'sync', () => syncDirectory(this.#dir));
    const replaced = this.#current;
    this.#current = { ref: claim.ref, path };
    this.#claimed.delete(claim.ref.name);
    await removeDurably(this.#dir, replaced === null ? [] : [replaced.path]);
  }

  async #openHeld(ref: SnapshotRef): Promise<{ path: string; handle: FileHandle }> {
    // Installing a snapshot renames its file: a name looked up just before that is looked up again.
    for (let attempt = 1; ; attempt++) {
      const { path } = this.#held(ref);
      try {
        return { path, handle: await open(path, 'r') };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 2) throw error;
      }
    }
  }

  #held(ref: SnapshotRef): HeldData {
    const held =
      (this.#current?.ref.name === ref.name ? this.#current : undefined) ??
      this.#claimed.get(ref.name) ??
      this.#finished.get(ref.name);
    if (!this.#open || held === undefined || !sameRef(held.ref, ref)) {
      throw new Error(
        `DiskStorage: no snapshot data for ${JSON.stringify(ref)}: it was not written by this storage, a newer` +
          ' snapshot replaced it, or the storage is closed',
      );
    }
    return held;
  }

  async #discard(writer: DataFileWriter): Promise<void> {
    await writer.close();
    await rm(writer.path, { force: true });
  }
}

function sameRef(a: SnapshotRef, b: SnapshotRef): boolean {
  return a.name === b.name && a.bytes === b.bytes && a.crc32 === b.crc32;
}
