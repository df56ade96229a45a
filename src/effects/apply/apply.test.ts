import { describe, expect, it } from 'vitest';
import type { Entry } from '../../core/index.js';
import { type Applied, Applier, type StateMachine } from './apply.js';

/** Sums the numbers it is given: each result is the running total. */
class Sum implements StateMachine<number, number> {
  total = 0;
  apply(command: number): number {
    this.total += command;
    return this.total;
  }
}

const command = (index: number, value: number): Entry<number> => ({
  index,
  term: 1,
  kind: 'command',
  command: value,
});
const noop = (index: number): Entry<number> => ({ index, term: 1, kind: 'noop' });

describe('Applier', () => {
  it('applies commands in order and reports every entry with its result', () => {
    const machine = new Sum();
    const applied: Applied<number, number>[] = [];
    const applier = new Applier(machine, (a) => applied.push(a));
    applier.apply([noop(1), command(2, 5)]);
    applier.apply([command(3, 7)]);
    expect(machine.total).toBe(12);
    expect(applier.appliedIndex).toBe(3);
    expect(applied.map((a) => [a.entry.index, a.result])).toEqual([
      [1, undefined],
      [2, 5],
      [3, 12],
    ]);
  });

  it('refuses a gap or a repeat without applying anything past it', () => {
    const machine = new Sum();
    const applier = new Applier(machine);
    applier.apply([command(1, 1)]);
    expect(() => applier.apply([command(3, 1)])).toThrow(/entry 3 does not follow the last applied entry 1/);
    expect(() => applier.apply([command(1, 1)])).toThrow(/entry 1 does not follow/);
    expect(machine.total).toBe(1);
    expect(applier.appliedIndex).toBe(1);
  });
});
