import { describe, expect, it } from 'vitest';
import { crc32 } from '../effects/storage/frame.js';
import type { KvCommand } from './commands.js';
import { ENTRIES_PER_FRAME, FRAME_TARGET_BYTES, KvSnapshotError } from './snapshot-format.js';
import { KvStateMachine } from './state-machine.js';

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const collected: Uint8Array[] = [];
  for await (const chunk of chunks) collected.push(Uint8Array.from(chunk));
  return collected;
}

async function* stream(...chunks: Uint8Array[]): AsyncIterable<Uint8Array> {
  yield* chunks;
}

/** The bytes cut into pieces of pseudo-random sizes from 1 to `max`. */
function* pieces(bytes: Uint8Array, max: number): Iterable<Uint8Array> {
  let seed = 7;
  for (let offset = 0; offset < bytes.length; ) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    const size = 1 + (seed % max);
    yield bytes.subarray(offset, offset + size);
    offset += size;
  }
}

async function snapshotBytes(machine: KvStateMachine): Promise<Buffer> {
  return Buffer.concat(await collect(machine.snapshot()));
}

async function restored(bytes: Uint8Array): Promise<KvStateMachine> {
  const machine = new KvStateMachine();
  await machine.restore(stream(bytes));
  return machine;
}

const put = (key: string, value: string, client?: string, seq?: number): KvCommand => ({
  op: 'put',
  key,
  value,
  ...(client !== undefined && { session: { client, seq: seq! } }),
});

function machineWith(keys: number): KvStateMachine {
  const machine = new KvStateMachine();
  for (let i = 0; i < keys; i++) machine.apply(put(`key-${i}`, `value-${i}`));
  return machine;
}

describe('KvStateMachine snapshots', () => {
  it('restore gives back every key and value, odd strings included, and the session table', async () => {
    const machine = new KvStateMachine();
    const odd = [
      '',
      'é',
      '日本',
      '🦀',
      'lone \ud800 surrogate',
      '\udc00',
      'x'.repeat(70_000),
      '\ufeffBOM first',
    ];
    for (const [i, text] of odd.entries()) machine.apply(put(`odd-${i}-${text}`, text));
    machine.apply({ op: 'cas', key: 'c', expected: null, value: 'v', session: { client: 'alice', seq: 1 } });
    machine.apply({ op: 'delete', key: 'gone', session: { client: 'bob', seq: 1 } });
    machine.apply({ op: 'get', key: 'c', session: { client: 'carol', seq: 1 } });
    const copy = await restored(await snapshotBytes(machine));
    expect(copy.dump()).toEqual(machine.dump());
    expect(copy.read(`odd-4-${odd[4]}`)).toBe(odd[4]);
    expect(copy.sessions).toBe(3);
    // The same snapshot again: the state is the same, byte for byte.
    expect(await snapshotBytes(copy)).toEqual(await snapshotBytes(machine));
  });

  it('applies a request retried after a restore once, answering it as the first time', async () => {
    const machine = new KvStateMachine();
    const first = machine.apply(put('k', 'v1', 'c', 1));
    machine.apply(put('k', 'other'));
    const copy = await restored(await snapshotBytes(machine));
    expect(copy.apply(put('k', 'v1', 'c', 1))).toEqual(first);
    expect(copy.read('k')).toBe('other');
    expect(copy.apply(put('k', 'v0', 'c', 0))).toMatchObject({ op: 'refused' });
    expect(copy.apply(put('k', 'v2', 'c', 2))).toEqual({ op: 'put', previous: 'other' });
  });

  it('keeps the order sessions are evicted in across a restore', async () => {
    const machine = new KvStateMachine(2);
    machine.apply(put('a', '1', 'old', 1));
    machine.apply(put('b', '1', 'young', 1));
    machine.apply(put('a', '2', 'old', 2)); // "old" is now the most recently used
    const copy = new KvStateMachine(2);
    await copy.restore(stream(await snapshotBytes(machine)));
    for (const replica of [machine, copy]) replica.apply(put('c', '1', 'new', 1)); // evicts "young"
    expect(copy.apply(put('b', '1', 'young', 2))).toEqual(machine.apply(put('b', '1', 'young', 2)));
    expect(copy.apply(put('b', '1', 'young', 2))).toMatchObject({ op: 'refused' });
    expect(copy.apply(put('a', '3', 'old', 3))).toEqual({ op: 'put', previous: '2' });
  });

  it('captures the state when called: applies made while the bytes are produced do not change them', async () => {
    const machine = machineWith(10_000);
    const before = machine.dump();
    const first = machine.snapshot();
    machine.apply(put('key-1', 'changed'));
    machine.apply({ op: 'delete', key: 'key-2' });
    machine.apply(put('new', 'key'));
    const between = machine.dump();
    const second = machine.snapshot();
    machine.apply(put('key-3', 'changed'));
    machine.apply({ op: 'delete', key: 'new' });
    const after = machine.dump();
    const [firstBytes, secondBytes] = await Promise.all([collect(first), collect(second)]);
    expect((await restored(Buffer.concat(firstBytes))).dump()).toEqual(before);
    expect((await restored(Buffer.concat(secondBytes))).dump()).toEqual(between);
    // Released: the live state is as applied, and so is a snapshot taken now.
    expect(machine.dump()).toEqual(after);
    expect(machine.size).toBe(after.length);
    expect((await restored(await snapshotBytes(machine))).dump()).toEqual(after);
  });

  it('yields its bytes in slices of a few thousand keys, with turns of the event loop between them', async () => {
    const machine = machineWith(20_000);
    let turns = 0;
    let ticking = true;
    const tick = () => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const chunks = await collect(machine.snapshot());
    ticking = false;
    const frames = chunks.slice(1, -1); // between the header and the end frame
    expect(frames.length).toBeGreaterThanOrEqual(20_000 / ENTRIES_PER_FRAME);
    expect(Math.max(...frames.map((frame) => frame.length))).toBeLessThan(FRAME_TARGET_BYTES + 1024);
    expect(turns).toBeGreaterThanOrEqual(frames.length - 1);
  });

  it('restores from chunks cut anywhere, frame boundaries or not', async () => {
    const machine = machineWith(5_000);
    machine.apply(put('k', 'v', 'client', 1));
    const bytes = await snapshotBytes(machine);
    const copy = new KvStateMachine();
    await copy.restore(stream(...pieces(bytes, 700)));
    expect(copy.dump()).toEqual(machine.dump());
    expect(copy.sessions).toBe(1);
  });

  it('refuses damaged, cut, lengthened or foreign bytes with a clear error, and keeps its state', async () => {
    const bytes = await snapshotBytes(machineWith(10_000));
    const flipped = Buffer.from(bytes);
    flipped[Math.floor(bytes.length / 2)]! ^= 0x10;
    const forgedLength = Buffer.from(bytes);
    forgedLength.writeUInt32LE(0xffff_ffff, 5);
    const newerVersion = Buffer.from(bytes);
    newerVersion[4] = 3;
    const cases: [Uint8Array, RegExp][] = [
      [flipped, /at byte \d+: frame checksum mismatch/],
      [bytes.subarray(0, bytes.length - 3), /ends in the middle of a frame/],
      // The end frame: 8 bytes of frame header, the kind, 10,000 keys (2 bytes), 0 sessions, 0 members.
      [bytes.subarray(0, bytes.length - 13), /ends before its end frame/],
      [Buffer.concat([bytes, bytes.subarray(5, 40)]), /after the end of the snapshot|middle of a frame/],
      [forgedLength, /at byte 5: bad frame length 4294967295/],
      [newerVersion, /format version 3; this build reads versions 1 and 2/],
      [Buffer.from('{"json": "is not a snapshot"}'), /not a key-value snapshot/],
      [new Uint8Array(0), /ends in the middle of a frame/],
    ];
    const machine = new KvStateMachine();
    machine.apply(put('kept', 'yes'));
    for (const [damaged, message] of cases) {
      const failure = machine.restore(stream(...pieces(damaged, 5_000)));
      await expect(failure).rejects.toBeInstanceOf(KvSnapshotError);
      await expect(failure).rejects.toThrow(message);
      expect(machine.dump()).toEqual([['kept', 'yes']]);
    }
  });

  it('keeps the address book: member entries survive a snapshot, and the node hears of each change', async () => {
    const machine = machineWith(10);
    const seen: string[] = [];
    machine.onAddressBook = (book) =>
      seen.push(
        book
          .entries()
          .map(([id, a]) => `${id}@${a.raft}`)
          .join(' '),
      );
    expect(machine.apply({ op: 'member', id: 'n4', raft: '127.0.0.1:7004', http: '127.0.0.1:8004' })).toEqual(
      {
        op: 'member',
        previous: null,
      },
    );
    machine.apply({ op: 'member', id: 'n2', raft: '[::1]:7002', http: '[::1]:8002' });
    const moved = machine.apply({ op: 'member', id: 'n4', raft: '10.0.0.4:7004', http: '10.0.0.4:8004' });
    expect(moved).toEqual({ op: 'member', previous: { raft: '127.0.0.1:7004', http: '127.0.0.1:8004' } });
    expect(seen).toEqual([
      'n4@127.0.0.1:7004',
      'n2@[::1]:7002 n4@127.0.0.1:7004',
      'n2@[::1]:7002 n4@10.0.0.4:7004',
    ]);

    const copy = new KvStateMachine();
    const restoredBooks: number[] = [];
    copy.onAddressBook = (book) => restoredBooks.push(book.size);
    await copy.restore(stream(await snapshotBytes(machine)));
    expect(copy.addressBook.entries()).toEqual(machine.addressBook.entries());
    expect(copy.dump()).toEqual(machine.dump());
    expect(restoredBooks).toEqual([2]);
  });

  it('refuses a malformed member entry the same way on every replica, without throwing', () => {
    const machine = new KvStateMachine();
    for (const bad of [
      { op: 'member', id: '', raft: '127.0.0.1:1', http: '127.0.0.1:2' },
      { op: 'member', id: 'n4', raft: 'nowhere', http: '127.0.0.1:2' },
      { op: 'member', id: 'n4', raft: '127.0.0.1:1', http: 8004 },
    ]) {
      const result = machine.apply(bad as never);
      expect(result.op).toBe('refused');
      expect((result as { reason: string }).reason).toMatch(/^malformed member entry: /);
    }
    expect(machine.addressBook.size).toBe(0);
  });

  it('still reads a version 1 snapshot (no address book)', async () => {
    const text = (value: string) => [value.length * 2, ...Buffer.from(value)];
    const frame = (payload: number[]) => {
      const header = Buffer.alloc(8);
      header.writeUInt32LE(payload.length, 0);
      header.writeUInt32LE(crc32(Uint8Array.from(payload)), 4);
      return Buffer.concat([header, Uint8Array.from(payload)]);
    };
    const v1 = Buffer.concat([
      Buffer.from('PRKV\x01', 'latin1'),
      frame([1, ...text('k'), ...text('v')]),
      frame([3, 1, 0]),
    ]);
    const copy = await restored(v1);
    expect(copy.dump()).toEqual([['k', 'v']]);
    expect(copy.addressBook.size).toBe(0);
    // A version 1 stream cannot carry a members frame: the kind did not exist then.
    const forged = Buffer.concat([
      Buffer.from('PRKV\x01', 'latin1'),
      frame([4, ...text('n4'), ...text('127.0.0.1:1'), ...text('127.0.0.1:2')]),
      frame([3, 0, 0]),
    ]);
    await expect(restored(forged)).rejects.toThrow(/unknown frame kind 4/);
  });
});
