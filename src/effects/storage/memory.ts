/** An in-memory `Storage` for tests: durable means "applied", and `durable` shows what a restart would load. */
import type { Durable } from '../../core/index.js';
import { MemorySnapshotStore } from './memory-snapshots.js';
import { DurableLog, type PersistEffect, type Storage } from './storage.js';

export class MemoryStorage<C> implements Storage<C> {
  readonly #log: DurableLog<C>;
  #loaded = false;
  #closed = false;
  /** How many persist effects were applied. */
  persistCount = 0;

  /** A restart passes the `durable` and the `snapshots` of the storage it replaces. */
  constructor(
    initial?: Durable<C>,
    readonly snapshots: MemorySnapshotStore = new MemorySnapshotStore(),
  ) {
    this.#log = new DurableLog(initial);
  }

  /** What is durable now: what `load` would return after a crash. */
  get durable(): Durable<C> {
    return this.#log.snapshot();
  }

  async load(): Promise<Durable<C>> {
    if (this.#closed) throw new Error('MemoryStorage: load after close');
    if (this.#loaded) throw new Error('MemoryStorage: load called twice');
    this.#loaded = true;
    return this.#log.snapshot();
  }

  async persist(effect: PersistEffect<C>): Promise<void> {
    if (this.#closed) throw new Error('MemoryStorage: persist after close');
    if (!this.#loaded) throw new Error('MemoryStorage: persist before load');
    if (effect.snapshot !== undefined) this.snapshots.checkPersistable(effect.snapshot.data);
    this.#log.apply(effect);
    if (effect.snapshot !== undefined) this.snapshots.persisted(effect.snapshot.data);
    this.persistCount++;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
