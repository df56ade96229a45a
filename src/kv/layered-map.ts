/**
 * The store's keys and values, in a map whose whole contents can be captured in O(1), for snapshots that are
 * written out slice by slice while writes go on (StateMachine.snapshot: the capture happens at the call, the
 * bytes come later).
 *
 * A capture pins the map as it is (`base`) and from then on writes go to an `overlay` (a value, or DELETED) on
 * top of it, so the pinned map does not change while a capture reads it; reads look in the overlay first.
 * When the last capture is released, the overlay is folded into the base: O(keys written meanwhile). A capture
 * taken while another is held copies the overlay, which holds only the writes since the first. A capture that
 * is never released keeps the base pinned and the overlay growing: whoever takes one must release it.
 */

const DELETED = Symbol('deleted');
type Written = string | typeof DELETED;

/** The map's contents at the moment of capture. */
export interface MapCapture {
  /** How many keys the map held. */
  readonly size: number;
  /** The captured entries, in no particular order; valid across awaits until `release`. */
  entries(): IterableIterator<[string, string]>;
  /** The capture is no longer needed. Safe to call more than once. */
  release(): void;
}

export class LayeredMap {
  #base = new Map<string, string>();
  #overlay = new Map<string, Written>();
  /** Captures of the current base not yet released: while there are any, the base does not change. */
  #captures = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(key: string): string | undefined {
    if (this.#overlay.size > 0) {
      const written = this.#overlay.get(key);
      if (written !== undefined) return written === DELETED ? undefined : written;
    }
    return this.#base.get(key);
  }

  set(key: string, value: string): void {
    if (this.get(key) === undefined) this.#size++;
    if (this.#captures === 0) this.#base.set(key, value);
    else this.#overlay.set(key, value);
  }

  delete(key: string): void {
    if (this.get(key) === undefined) return;
    this.#size--;
    if (this.#captures === 0) this.#base.delete(key);
    else this.#overlay.set(key, DELETED);
  }

  /** The current entries, in no particular order. Not valid across writes: use `capture` for that. */
  entries(): IterableIterator<[string, string]> {
    return merged(this.#base, this.#overlay);
  }

  capture(): MapCapture {
    const base = this.#base;
    const overlay = this.#overlay.size === 0 ? new Map<string, Written>() : new Map(this.#overlay);
    this.#captures++;
    let released = false;
    return {
      size: this.#size,
      entries: () => merged(base, overlay),
      release: () => {
        if (released) return;
        released = true;
        // After `replace` the base is another map, and this capture pins nothing any more.
        if (this.#base === base && --this.#captures === 0) this.#fold();
      },
    };
  }

  /** Replaces every entry with `entries` (the map is taken over). Captures taken before keep what they hold. */
  replace(entries: Map<string, string>): void {
    this.#base = entries;
    this.#overlay = new Map();
    this.#captures = 0;
    this.#size = entries.size;
  }

  #fold(): void {
    for (const [key, written] of this.#overlay) {
      if (written === DELETED) this.#base.delete(key);
      else this.#base.set(key, written);
    }
    this.#overlay.clear();
  }
}

function* merged(
  base: Map<string, string>,
  overlay: Map<string, Written>,
): IterableIterator<[string, string]> {
  if (overlay.size === 0) {
    yield* base;
    return;
  }
  for (const entry of base) if (!overlay.has(entry[0])) yield entry;
  for (const [key, written] of overlay) if (written !== DELETED) yield [key, written];
}
