import { describe, expect, it } from 'vitest';
import { MAX_REQUESTS_IN_FLIGHT, SharedReads } from './shared-reads.js';

/** A ReadIndex stand-in whose requests the test answers by hand, in order. */
function manualIndex() {
  const pending: { resolve: (index: number) => void; reject: (error: Error) => void }[] = [];
  const readIndex = () => new Promise<number>((resolve, reject) => pending.push({ resolve, reject }));
  return { pending, reads: new SharedReads(readIndex) };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('SharedReads', () => {
  it('gives the reads of one turn one request, started after all of them; later reads one of their own at once', async () => {
    const { pending, reads } = manualIndex();
    const together = [reads.index(), reads.index(), reads.index()];
    expect(pending).toHaveLength(0);
    await tick();
    expect(pending).toHaveLength(1);
    // A read arriving while that request is in flight never shares it: it gets the next, which does not wait.
    const later = reads.index();
    await tick();
    expect(pending).toHaveLength(2);
    pending[1]!.resolve(7);
    await expect(later).resolves.toBe(7);
    pending[0]!.resolve(5);
    expect(await Promise.all(together)).toEqual([5, 5, 5]);
    expect(reads.requests).toBe(2);
  });

  it(`keeps at most ${MAX_REQUESTS_IN_FLIGHT} requests in flight; the reads past them gather until one settles`, async () => {
    const { pending, reads } = manualIndex();
    for (let i = 0; i < MAX_REQUESTS_IN_FLIGHT; i++) {
      void reads.index();
      await tick();
    }
    expect(pending).toHaveLength(MAX_REQUESTS_IN_FLIGHT);
    const waiting = [reads.index()];
    await tick();
    waiting.push(reads.index());
    await tick();
    expect(pending).toHaveLength(MAX_REQUESTS_IN_FLIGHT);
    pending[0]!.resolve(1);
    await tick();
    expect(pending).toHaveLength(MAX_REQUESTS_IN_FLIGHT + 1);
    pending.at(-1)!.resolve(3);
    expect(await Promise.all(waiting)).toEqual([3, 3]);
  });

  it('passes a failure to the reads that shared the request, and starts afresh after it', async () => {
    const { pending, reads } = manualIndex();
    const failed = reads.index();
    await tick();
    pending[0]!.reject(new Error('not the leader'));
    await expect(failed).rejects.toThrow('not the leader');
    const next = reads.index();
    await tick();
    pending[1]!.resolve(9);
    await expect(next).resolves.toBe(9);
  });
});
