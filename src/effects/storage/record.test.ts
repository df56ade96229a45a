import { describe, expect, it } from 'vitest';
import type { Entry } from '../../core/index.js';
import { type CommandCodec, DecodeError, jsonCodec } from '../binary.js';
import { encodeFrame, hasValidFrameFrom, readFrame } from './frame.js';
import { decodePersistRecord, encodePersistRecord } from './record.js';
import type { PersistEffect } from './storage.js';

interface Command {
  readonly op: string;
  readonly value: number;
}

describe('persist records', () => {
  const codec = jsonCodec<Command>();
  const effects: PersistEffect<Command>[] = [
    { type: 'persist', hardState: { term: 7, votedFor: 'nœud-β' } },
    { type: 'persist', hardState: { term: 2 ** 40, votedFor: null }, truncateFrom: 12 },
    {
      type: 'persist',
      truncateFrom: 3,
      entries: [
        { index: 3, term: 2, kind: 'noop' },
        { index: 4, term: 2, kind: 'command', command: { op: 'set', value: -1.5 } },
        { index: 5, term: 2, kind: 'config', membership: { voters: ['a', 'b'], learners: ['c'] } },
      ],
    },
  ];

  it('round-trips every part of a persist effect', () => {
    for (const effect of effects) {
      expect(decodePersistRecord(encodePersistRecord(effect, codec), codec)).toEqual(effect);
    }
  });

  it('records a snapshot by its index, in the order the contract applies the parts', () => {
    const snapshot = {
      meta: { index: 40, term: 3, membership: { voters: ['a'], learners: [] } },
      data: 'big',
    };
    const effect: PersistEffect<Command> = {
      type: 'persist',
      hardState: { term: 4, votedFor: null },
      snapshot,
      truncateFrom: 41,
      entries: [{ index: 41, term: 4, kind: 'noop' }],
    };
    const { snapshot: _, ...rest } = effect;
    expect(decodePersistRecord(encodePersistRecord(effect, codec), codec)).toEqual({
      ...rest,
      snapshotIndex: 40,
    });
  });

  it('uses the codec it is given for commands', () => {
    const upper: CommandCodec<string> = {
      encode: (command) => new TextEncoder().encode(command.toUpperCase()),
      decode: (bytes) => new TextDecoder().decode(bytes),
    };
    const effect: PersistEffect<string> = {
      type: 'persist',
      entries: [{ index: 1, term: 1, kind: 'command', command: 'hi' }],
    };
    expect(decodePersistRecord(encodePersistRecord(effect, upper), upper).entries?.[0]?.command).toBe('HI');
  });

  it('refuses to encode an entry it could not read back', () => {
    const bad = (entry: object) => () =>
      encodePersistRecord({ type: 'persist', entries: [entry as Entry<Command>] }, codec);
    expect(bad({ index: 1, term: 1, kind: 'command' })).toThrow(/must have a command/);
    expect(bad({ index: 1, term: 1, kind: 'noop', command: { op: 'x', value: 1 } })).toThrow(
      /must have a command/,
    );
    expect(bad({ index: 1, term: 1, kind: 'other' })).toThrow(/unknown kind other/);
  });

  it('rejects malformed payloads with a DecodeError', () => {
    const good = encodePersistRecord(effects[2]!, codec);
    expect(() => decodePersistRecord(Uint8Array.of(9, 0), codec)).toThrow(DecodeError);
    expect(() => decodePersistRecord(Uint8Array.of(1, 16), codec)).toThrow(/flags/);
    expect(() => decodePersistRecord(good.subarray(0, good.length - 1), codec)).toThrow(DecodeError);
    expect(() => decodePersistRecord(Uint8Array.of(...good, 0), codec)).toThrow(/trailing/);
    expect(() => decodePersistRecord(Uint8Array.of(1, 4, 0xff, 0x7f), codec)).toThrow(/does not fit/);
  });
});

describe('frames', () => {
  const payload = new TextEncoder().encode('hello, log');

  it('read back what was written, ending where the next frame starts', () => {
    const two = Uint8Array.of(...encodeFrame(payload), ...encodeFrame(Uint8Array.of(1)));
    const first = readFrame(two, 0);
    expect(first.ok && new TextDecoder().decode(first.payload)).toBe('hello, log');
    const second = first.ok ? readFrame(two, first.end) : first;
    expect(second).toEqual({ ok: true, payload: Uint8Array.of(1), end: two.length });
  });

  it('report a short header, an overlong length, a zero length and a bad checksum', () => {
    const frame = encodeFrame(payload);
    expect(readFrame(frame.subarray(0, 5), 0)).toMatchObject({ ok: false, reason: /header/ });
    expect(readFrame(frame.subarray(0, frame.length - 1), 0)).toMatchObject({
      ok: false,
      reason: /past the end/,
    });
    expect(readFrame(new Uint8Array(64), 0)).toMatchObject({ ok: false, reason: /length 0/ });
    const flipped = frame.slice();
    flipped[10]! ^= 0x01;
    expect(readFrame(flipped, 0)).toMatchObject({ ok: false, reason: /checksum/ });
  });

  it('find a valid frame after garbage, and none in zeros', () => {
    expect(hasValidFrameFrom(Uint8Array.of(7, 7, 7, ...encodeFrame(payload)), 1)).toBe(true);
    expect(hasValidFrameFrom(new Uint8Array(4096), 0)).toBe(false);
  });
});
