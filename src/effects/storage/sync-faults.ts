/**
 * For tests: a sync (fsync or fdatasync) that fails once with EIO, or that never returns (the process was killed
 * during it, as `kill -9` leaves a node: its writes in the page cache, unsynced). Installed over `PowerLoss`'s
 * recording, so that what a power loss keeps afterwards is known.
 */
import { fstatSync, readlinkSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { wrapSyncs } from './power-loss.js';

export interface SyncCall {
  readonly method: 'sync' | 'datasync';
  readonly path: string;
  readonly isDirectory: boolean;
}

type SyncMethod = (this: FileHandle) => Promise<void>;

export class SyncFaults {
  #fail: ((call: SyncCall) => boolean) | null = null;
  #hang: ((call: SyncCall) => boolean) | null = null;
  #uninstall: () => void = () => {};

  static async install(): Promise<SyncFaults> {
    const faults = new SyncFaults();
    faults.#uninstall = await wrapSyncs((method, handle, original) => faults.#sync(method, handle, original));
    return faults;
  }

  /** The next sync that `matches` fails with EIO, leaving its writes unsynced. */
  failOnce(matches: (call: SyncCall) => boolean): void {
    this.#fail = matches;
  }

  /** The next sync that `matches` never returns. */
  hangOnce(matches: (call: SyncCall) => boolean): void {
    this.#hang = matches;
  }

  uninstall(): void {
    this.#uninstall();
  }

  #sync(method: 'sync' | 'datasync', handle: FileHandle, original: SyncMethod): Promise<void> {
    if (this.#fail !== null || this.#hang !== null) {
      const call = {
        method,
        path: readlinkSync(`/proc/self/fd/${handle.fd}`),
        isDirectory: fstatSync(handle.fd).isDirectory(),
      };
      if (this.#hang?.(call) === true) {
        this.#hang = null;
        return new Promise<void>(() => {});
      }
      if (this.#fail?.(call) === true) {
        this.#fail = null;
        return Promise.reject(Object.assign(new Error(`EIO: i/o error, ${method}`), { code: 'EIO' }));
      }
    }
    return original.call(handle);
  }
}
