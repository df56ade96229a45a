/**
 * The end frame of a key-value snapshot counts keys, sessions and members, so that a stream missing a whole,
 * sound frame is refused: a snapshot that lost its session table would let a retried write be applied twice.
 */
import { describe, expect, it } from 'vitest';
import type { KvCommand } from './commands.js';
import { KvSnapshotError } from './snapshot-format.js';
import { KvStateMachine } from './state-machine.js';

async function* stream(...chunks: Uint8Array[]): AsyncIterable<Uint8Array> {
  yield* chunks;
}

async function snapshotBytes(machine: KvStateMachine): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of machine.snapshot()) chunks.push(Uint8Array.from(chunk));
  return Buffer.concat(chunks);
}

/** The snapshot without its frames of `kind` (after the 5-byte header: u32 length, u32 CRC-32, payload). */
function withoutFrames(bytes: Buffer, kind: number): Buffer {
  const kept: Buffer[] = [bytes.subarray(0, 5)];
  for (let offset = 5; offset < bytes.length; ) {
    const end = offset + 8 + bytes.readUInt32LE(offset);
    if (bytes[offset + 8] !== kind) kept.push(bytes.subarray(offset, end));
    offset = end;
  }
  return Buffer.concat(kept);
}

const put = (key: string, value: string, client: string, seq: number): KvCommand => ({
  op: 'put',
  key,
  value,
  session: { client, seq },
});

describe('KvStateMachine snapshots missing a whole frame', () => {
  it('refuses one without its session frame, keeping its state, rather than restore it without the sessions', async () => {
    const source = new KvStateMachine();
    source.apply(put('a', '1', 'client-1', 1));
    source.apply(put('b', '2', 'client-2', 1));
    const bytes = await snapshotBytes(source);
    const noSessions = withoutFrames(bytes, 2);
    expect(noSessions.length).toBeLessThan(bytes.length);
    const machine = new KvStateMachine();
    machine.apply(put('kept', 'yes', 'client-3', 1));
    const failure = machine.restore(stream(noSessions));
    await expect(failure).rejects.toBeInstanceOf(KvSnapshotError);
    await expect(failure).rejects.toThrow(/end frame counts 2 keys, 2 sessions/);
    expect(machine.dump()).toEqual([['kept', 'yes']]);
    expect(machine.sessions).toBe(1);
  });
});
