import { describe, expect, it } from 'vitest';
import { DEFAULT_HEAP_GROWTH, HeapGrowthPolicy } from './heap-growth.js';

const MiB = 2 ** 20;

function policyOver(heaps: readonly number[], percent = DEFAULT_HEAP_GROWTH.percent) {
  const set: number[] = [];
  let used = 0;
  const policy = new HeapGrowthPolicy(
    { ...DEFAULT_HEAP_GROWTH, percent },
    { heapUsedBytes: () => used, setGrowingPercent: (p) => set.push(p) },
  );
  const capped: boolean[] = [];
  for (const heap of heaps) {
    used = heap * MiB;
    policy.check();
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
    const host = { heapUsedBytes: () => 0, setGrowingPercent: () => {} };
    expect(() => new HeapGrowthPolicy({ percent: 20, capFromBytes: 10, liftBelowBytes: 11 }, host)).toThrow(
      /lifted below/,
    );
  });
});
