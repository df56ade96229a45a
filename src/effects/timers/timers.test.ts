import { describe, expect, it } from 'vitest';
import { ManualClock, realClock } from './clock.js';
import { Timers } from './timers.js';

function manualTimers() {
  const clock = new ManualClock();
  const fired: string[] = [];
  const timers = new Timers(clock, (timer) => fired.push(timer));
  return { clock, fired, timers };
}

describe('Timers', () => {
  it('fires a timer once, after its delay', () => {
    const { clock, fired, timers } = manualTimers();
    timers.set('election', 100);
    clock.advance(99);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual(['election']);
    clock.advance(1000);
    expect(fired).toEqual(['election']);
  });

  it('keeps at most one pending timer per name: set replaces', () => {
    const { clock, fired, timers } = manualTimers();
    timers.set('election', 100);
    clock.advance(50);
    timers.set('election', 100);
    clock.advance(99);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual(['election']);
    expect(clock.pending).toBe(0);
  });

  it('cancel disarms', () => {
    const { clock, fired, timers } = manualTimers();
    timers.set('heartbeat', 10);
    timers.cancel('heartbeat');
    clock.advance(100);
    expect(fired).toEqual([]);
    expect(timers.pending()).toEqual([]);
  });

  it('fires timers of different names in deadline order', () => {
    const { clock, fired, timers } = manualTimers();
    timers.set('b', 20);
    timers.set('a', 10);
    timers.set('c', 20);
    clock.advance(30);
    expect(fired).toEqual(['a', 'b', 'c']);
  });

  it('claims a firing exactly once', () => {
    const { clock, timers } = manualTimers();
    timers.set('election', 10);
    expect(timers.claim('election')).toBe(false);
    clock.advance(10);
    expect(timers.claim('election')).toBe(true);
    expect(timers.claim('election')).toBe(false);
  });

  it('refuses to claim a firing that a later set or cancel superseded', () => {
    const { clock, fired, timers } = manualTimers();
    timers.set('election', 10);
    clock.advance(10);
    timers.set('election', 10);
    expect(timers.claim('election')).toBe(false);
    clock.advance(10);
    expect(fired).toEqual(['election', 'election']);
    timers.cancel('election');
    expect(timers.claim('election')).toBe(false);
  });

  it('takes the timers that are due and not claimed, in deadline order; their queued firings go stale', () => {
    const { clock, fired, timers } = manualTimers();
    timers.set('lease', 20);
    timers.set('heartbeat', 10);
    timers.set('election', 30);
    clock.advance(25);
    expect(fired).toEqual(['heartbeat', 'lease']);
    expect(timers.takeOverdue()).toEqual(['heartbeat', 'lease']);
    expect(timers.claim('lease')).toBe(false);
    expect(timers.pending()).toEqual(['election']);
    expect(timers.takeOverdue()).toEqual([]);
  });

  it('clear disarms everything', () => {
    const { clock, fired, timers } = manualTimers();
    timers.set('a', 10);
    timers.set('b', 20);
    timers.clear();
    clock.advance(100);
    expect(fired).toEqual([]);
  });

  it('runs on the real event loop', async () => {
    const fired: string[] = [];
    const timers = new Timers(realClock, (timer) => fired.push(timer));
    timers.set('quick', 5);
    timers.set('cancelled', 5);
    timers.cancel('cancelled');
    timers.set('replaced', 5);
    timers.set('replaced', 30);
    await new Promise((resolve) => setTimeout(resolve, 15));
    expect(fired).toEqual(['quick']);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(fired).toEqual(['quick', 'replaced']);
    expect(timers.claim('quick')).toBe(true);
  });
});
