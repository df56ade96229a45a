/**
 * A received snapshot is delivered only if its connection is still open once the store has finished it: a
 * transfer interrupted while `finish` runs was aborted (its data may be gone already), and a message carrying a
 * ref to it would hand the core a snapshot it cannot persist.
 */
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { InstallSnapshot, Snapshot } from '../../core/index.js';
import type { SnapshotRef, SnapshotStore, SnapshotWriter } from '../snapshot-data.js';
import { closeAll, introduce, sleep, startNode, waitFor } from './test-support.js';

afterEach(closeAll);

/** A store in memory whose writers' `finish` waits until `release` is called: a slow sync. */
class SlowFinishStore implements SnapshotStore {
  readonly blobs = new Map<string, Uint8Array>();
  readonly states: ('open' | 'finishing' | 'finished' | 'aborted')[] = [];
  #finishes: (() => void)[] = [];

  put(data: Uint8Array): SnapshotRef {
    const name = `put-${this.blobs.size}`;
    this.blobs.set(name, data);
    return { kind: 'snapshot-ref', name, bytes: data.length, crc32: crc32(data) };
  }

  /** Lets every `finish` waiting resolve. */
  letFinish(): void {
    for (const finish of this.#finishes.splice(0)) finish();
  }

  async release(ref: SnapshotRef): Promise<void> {
    this.blobs.delete(ref.name);
  }

  create(): SnapshotWriter {
    const at = this.states.push('open') - 1;
    const name = `received-${at}`;
    const chunks: Uint8Array[] = [];
    return {
      write: async (chunk) => {
        chunks.push(chunk.slice());
      },
      finish: async () => {
        this.states[at] = 'finishing';
        await new Promise<void>((resolve) => this.#finishes.push(resolve));
        const data = Buffer.concat(chunks);
        if (this.states[at] === 'finishing') {
          this.states[at] = 'finished';
          this.blobs.set(name, data);
        }
        return { kind: 'snapshot-ref', name, bytes: data.length, crc32: crc32(data) };
      },
      abort: async () => {
        this.states[at] = 'aborted';
        this.blobs.delete(name);
      },
    };
  }

  async *read(snapshot: Snapshot): AsyncIterable<Uint8Array> {
    const data = this.blobs.get((snapshot.data as SnapshotRef).name);
    if (data === undefined) throw new Error('no such snapshot');
    yield data;
  }
}

describe('a snapshot transfer interrupted while the receiver finishes it', () => {
  it('is aborted and never delivered, even if the store’s finish resolves after the abort', async () => {
    const sending = new SlowFinishStore();
    const receiving = new SlowFinishStore();
    const a = await startNode('a', { snapshots: sending });
    const b = await startNode('b', { snapshots: receiving });
    introduce(a, b);
    const data = randomBytes(64 * 1024);
    const membership = { voters: ['a', 'b'], learners: [] };
    const message: InstallSnapshot = {
      type: 'InstallSnapshot',
      term: 3,
      from: 'a',
      to: 'b',
      round: 1,
      snapshot: { meta: { index: 40, term: 2, membership }, data: sending.put(data) },
    };
    a.transport.send(message);
    await waitFor(() => receiving.states[0] === 'finishing', 'the receiver to finish the data');
    await a.transport.stop();
    await waitFor(() => receiving.states[0] === 'aborted', 'the transfer to be aborted');
    receiving.letFinish();
    await sleep(20);
    expect(b.inbox.filter((m) => m.type === 'InstallSnapshot')).toEqual([]);
    expect(b.transport.stats).toMatchObject({ snapshotsReceived: 0, snapshotsFailed: 1 });
  });
});
