import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { afterFullCollections, DEFAULT_HEAP_GROWTH, HeapGrowthPolicy } from './heap-growth.js';

const MiB = 2 ** 20;

/** The policy fed the live heap after each of `heaps` full collections (MiB). */
function policyOver(heaps: readonly number[], percent = DEFAULT_HEAP_GROWTH.percent) {
  const set: number[] = [];
  const policy = new HeapGrowthPolicy({ ...DEFAULT_HEAP_GROWTH, percent }, (p) => set.push(p));
  const capped: boolean[] = [];
  for (const heap of heaps) {
    policy.afterFullCollection(heap * MiB);
    capped.push(policy.capped);
  }
  return { set, capped };
}

describe('the heap growth cap of a pureraft node process', () => {
  it('leaves a small heap to V8, caps a large one, and lifts the cap once it is small again', () => {
    const { set, capped } = policyOver([20, 100, 127, 128, 200, 120, 97, 96, 95, 110, 130]);
    expect(capped).toEqual([false, false, false, true, true, true, true, true, false, false, true]);
    // Told only when it changes: on at 128 MiB, off below 96, on again.
    expect(set).toEqual([20, 0, 20]);
  });

  it('never touches V8 with a cap of 0', () => {
    const { set, capped } = policyOver([20, 500, 20], 0);
    expect(set).toEqual([]);
    expect(capped).toEqual([false, false, false]);
  });

  it('refuses a lift above the cap', () => {
    expect(
      () => new HeapGrowthPolicy({ percent: 20, capFromBytes: 10, liftBelowBytes: 11 }, () => {}),
    ).toThrow(/lifted below/);
  });

  it('reads the heap after a full collection, and not after a stop', async () => {
    // A full collection on demand: V8's gc function, exposed after start the way Node's own tests do it.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const seen: number[] = [];
    const watch = afterFullCollections((live) => seen.push(live));
    const deadline = Date.now() + 5_000;
    while (seen.length === 0 && Date.now() < deadline) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    watch.stop();
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]).toBeGreaterThan(MiB);
    const count = seen.length;
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen.length).toBe(count);
  });
});
