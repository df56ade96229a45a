import { describe, expect, it } from 'vitest';
import { OverloadedError } from '../runtime/node/index.js';
import { Batcher } from './batcher.js';
import type { KvCommand, KvEntry, KvEntryResult } from './commands.js';
import { KvStateMachine } from './state-machine.js';

/** Proposals that land when the test says, applied to a real state machine. */
function manualLog() {
  const machine = new KvStateMachine();
  const flights: { entry: KvEntry; land: () => void; fail: (error: Error) => void }[] = [];
  const propose = (entry: KvEntry) =>
    new Promise<KvEntryResult>((resolve, reject) => {
      flights.push({ entry, land: () => resolve(machine.apply(entry)), fail: reject });
    });
  return { machine, flights, propose };
}

const put = (key: string, value = key): KvCommand => ({ op: 'put', key, value });
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('Batcher', () => {
  it('proposes a lone command as itself, at once', async () => {
    const { flights, propose } = manualLog();
    const batcher = new Batcher(propose);
    const result = batcher.submit(put('a'));
    expect(flights.map((f) => f.entry)).toEqual([put('a')]);
    flights[0]!.land();
    await expect(result).resolves.toEqual({ op: 'put', previous: null });
  });

  it('batches what arrives while a proposal is in flight, and answers each command with its own result', async () => {
    const { flights, propose, machine } = manualLog();
    const batcher = new Batcher(propose);
    const first = batcher.submit(put('a', '1'));
    const rest = [
      batcher.submit(put('a', '2')),
      batcher.submit({ op: 'get', key: 'a' }),
      batcher.submit(put('b')),
    ];
    expect(flights).toHaveLength(1);
    flights[0]!.land();
    await first;
    await settle();
    expect(flights[1]!.entry).toEqual({
      op: 'batch',
      commands: [put('a', '2'), { op: 'get', key: 'a' }, put('b')],
    });
    flights[1]!.land();
    expect(await Promise.all(rest)).toEqual([
      { op: 'put', previous: '1' },
      { op: 'get', value: '2' },
      { op: 'put', previous: null },
    ]);
    expect(machine.dump()).toEqual([
      ['a', '2'],
      ['b', 'b'],
    ]);
    expect(batcher.stats).toEqual({ entries: 2, commands: 4 });
  });

  it('caps a batch by commands and by bytes', async () => {
    const { flights, propose } = manualLog();
    const batcher = new Batcher(propose, { maxCommands: 2, maxBytes: 10 });
    const results = [put('x'), put('a'), put('b'), put('c', '123456789'), put('d')].map((c) =>
      batcher.submit(c),
    );
    const sizes: number[] = [];
    for (let i = 0; i < 4; i++) {
      flights[i]!.land();
      await settle();
      const entry = flights[i]!.entry;
      sizes.push(entry.op === 'batch' ? entry.commands.length : 1);
    }
    await Promise.all(results);
    // x alone; then a, b (two commands); then c (10 bytes: d would exceed the bytes); then d.
    expect(sizes).toEqual([1, 2, 1, 1]);
  });

  it('gives every command of a failed batch the same error', async () => {
    const { flights, propose } = manualLog();
    const batcher = new Batcher(propose);
    const first = batcher.submit(put('a'));
    const batched = [batcher.submit(put('b')), batcher.submit(put('c'))];
    flights[0]!.land();
    await first;
    await settle();
    const lost = new Error('leadership changed');
    flights[1]!.fail(lost);
    for (const result of batched) await expect(result).rejects.toBe(lost);
  });

  it('refuses commands past its waiting limit', async () => {
    const { propose } = manualLog();
    const batcher = new Batcher(propose, { maxWaiting: 1 });
    void batcher.submit(put('in flight'));
    void batcher.submit(put('waiting'));
    await expect(batcher.submit(put('one too many'))).rejects.toBeInstanceOf(OverloadedError);
  });
});
