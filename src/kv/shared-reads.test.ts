import { describe, expect, it } from 'vitest';
import { SharedReads } from './shared-reads.js';

/** A ReadIndex stand-in whose requests the test answers by hand, in order. */
function manualIndex() {
  const pending: { resolve: (index: number) => void; reject: (error: Error) => void }[] = [];
  const readIndex = () => new Promise<number>((resolve, reject) => pending.push({ resolve, reject }));
  return { pending, reads: new SharedReads(readIndex) };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('SharedReads', () => {
  it('gives reads that arrive while a request is in flight the next one, never the one in flight', async () => {
    const { pending, reads } = manualIndex();
    const first = reads.index();
    await tick();
    expect(pending).toHaveLength(1);
    const later = [reads.index(), reads.index(), reads.index()];
    await tick();
    expect(pending).toHaveLength(1);
    pending[0]!.resolve(5);
    await expect(first).resolves.toBe(5);
    await tick();
    expect(pending).toHaveLength(2);
    pending[1]!.resolve(7);
    expect(await Promise.all(later)).toEqual([7, 7, 7]);
    expect(reads.requests).toBe(2);
  });

  it('passes a failure to the reads that shared the request, and starts afresh after it', async () => {
    const { pending, reads } = manualIndex();
    const failed = reads.index();
    await tick();
    pending[0]!.reject(new Error('not the leader'));
    await expect(failed).rejects.toThrow('not the leader');
    await tick();
    const next = reads.index();
    await tick();
    pending[1]!.resolve(9);
    await expect(next).resolves.toBe(9);
  });
});
