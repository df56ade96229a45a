import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Entry, EntryKind, InstallSnapshot, Membership, Message } from '../../core/index.js';
import { ByteWriter, type CommandCodec, jsonCodec, MAX_MEMBERS, writeEntry } from '../binary.js';
import { checkMessage, decodeMessage, encodeMessage, MAX_NODE_ID_BYTES } from './codec.js';

/** A plain-data command that survives JSON exactly (no -0, no undefined). */
type TestCommand = string | { readonly key: string; readonly value: number };

const command: fc.Arbitrary<TestCommand> = fc.oneof(
  fc.string(),
  fc.record({ key: fc.string(), value: fc.integer() }),
);

/** Any valid node id, up to the 256-byte bound: 64 code points of at most 4 bytes each. */
const nodeId: fc.Arbitrary<string> = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 64 })
  .filter((id) => !(id in Object.prototype));

/** Small numbers, and large ones up to the safe-integer bound that varints must carry. */
const count = fc.oneof(fc.nat({ max: 1000 }), fc.maxSafeNat());

const entryKind: fc.Arbitrary<EntryKind> = fc.constantFrom('command', 'noop', 'config');

const ids = (minLength: number) => fc.uniqueArray(nodeId, { minLength, maxLength: 5 });

/** A well-formed membership (the core's whyMembershipMalformed): voters and outgoing non-empty, learners apart. */
const membership: fc.Arbitrary<Membership> = fc
  .record({ voters: ids(1), learners: ids(0), outgoing: fc.option(ids(1), { nil: undefined }) })
  .map(({ voters, learners, outgoing }) => {
    const apart = learners.filter((id) => !voters.includes(id));
    return outgoing === undefined ? { voters, learners: apart } : { voters, learners: apart, outgoing };
  });

/** Entries contiguous from `prevLogIndex + 1`, with terms non-decreasing from `prevLogTerm` up to `term` (and at least 1). */
function entries(
  prevLogIndex: number,
  prevLogTerm: number,
  term: number,
): fc.Arbitrary<Entry<TestCommand>[]> {
  if (term === 0) return fc.constant([]);
  const entry = fc.record({
    term: fc.integer({ min: Math.max(1, prevLogTerm), max: term }),
    kind: entryKind,
    command,
    membership,
  });
  return fc.array(entry, { maxLength: 8 }).map((drafts) => {
    const terms = drafts.map((draft) => draft.term).sort((a, b) => a - b);
    return drafts.map(({ kind, command, membership }, offset): Entry<TestCommand> => {
      const position = { index: prevLogIndex + 1 + offset, term: terms[offset]! };
      if (kind === 'command') return { ...position, kind, command };
      return kind === 'config' ? { ...position, kind, membership } : { ...position, kind };
    });
  });
}

const base = fc.record({ term: count, from: nodeId, to: nodeId });

const message: fc.Arbitrary<Message<TestCommand>> = fc.oneof(
  base.chain(({ term, from, to }) =>
    fc.record({
      type: fc.constant('RequestVote' as const),
      term: fc.constant(term),
      from: fc.constant(from),
      to: fc.constant(to),
      lastLogIndex: count,
      lastLogTerm: fc.integer({ min: 0, max: term }),
      transfer: fc.boolean(),
    }),
  ),
  base.chain(({ term, from, to }) =>
    fc.record({
      type: fc.constant('PreVote' as const),
      term: fc.constant(term),
      from: fc.constant(from),
      to: fc.constant(to),
      lastLogIndex: count,
      lastLogTerm: fc.integer({ min: 0, max: term }),
    }),
  ),
  fc.record({
    type: fc.constantFrom('RequestVoteResponse' as const, 'PreVoteResponse' as const),
    term: count,
    from: nodeId,
    to: nodeId,
    voteGranted: fc.boolean(),
  }),
  fc
    .record({
      term: fc.nat({ max: 1_000_000 }),
      from: nodeId,
      to: nodeId,
      prevLogIndex: fc.nat({ max: 1_000_000_000 }),
      leaderCommit: count,
      round: count,
    })
    .chain((fields) =>
      // The position before the log (index 0) has term 0.
      fc.integer({ min: 0, max: fields.prevLogIndex === 0 ? 0 : fields.term }).chain((prevLogTerm) =>
        entries(fields.prevLogIndex, prevLogTerm, fields.term).map(
          (list): Message<TestCommand> => ({
            type: 'AppendEntries',
            ...fields,
            prevLogTerm,
            entries: list,
          }),
        ),
      ),
    ),
  count.chain((term) =>
    fc.record({
      type: fc.constant('AppendEntriesResponse' as const),
      term: fc.constant(term),
      from: nodeId,
      to: nodeId,
      success: fc.boolean(),
      index: count,
      conflictTerm: fc.nat({ max: term }),
      conflictIndex: count,
      round: count,
    }),
  ),
  base
    .filter(({ term }) => term > 0)
    .chain(({ term, from, to }) =>
      fc.record({
        type: fc.constant('InstallSnapshot' as const),
        term: fc.constant(term),
        from: fc.constant(from),
        to: fc.constant(to),
        round: count,
        snapshot: fc.record({
          meta: fc.record({
            index: count.filter((index) => index > 0),
            term: fc.integer({ min: 1, max: term }),
            membership,
          }),
          data: fc.constant(null),
        }),
      }),
    ),
  fc.record({
    type: fc.constant('InstallSnapshotResponse' as const),
    term: count,
    from: nodeId,
    to: nodeId,
    index: count,
    round: count,
  }),
  fc.record({ type: fc.constant('TimeoutNow' as const), term: count, from: nodeId, to: nodeId }),
);

const codec = jsonCodec<TestCommand>();
const encoder = new TextEncoder();

/** Wire bytes of an AppendEntries written field by field, bypassing the encoder's checks. */
function rawAppendEntries(
  fields: { term: number; prevLogIndex: number; prevLogTerm: number; from?: string },
  list: readonly Entry<TestCommand>[],
  count = list.length,
): Uint8Array {
  const writer = new ByteWriter()
    .u8(3)
    .varint(fields.term)
    .string(fields.from ?? 'a')
    .string('b');
  writer.varint(fields.prevLogIndex).varint(fields.prevLogTerm).varint(0).varint(0).varint(count);
  for (const entry of list) writeEntry(writer, entry, codec);
  return writer.finish();
}

function rejection(bytes: Uint8Array, commandCodec: CommandCodec<TestCommand> = codec): string {
  const result = decodeMessage(bytes, commandCodec, { maxEntries: 16 });
  if (result.ok) throw new Error(`accepted ${JSON.stringify(result.message)}`);
  return result.error;
}

const heartbeat: Message<TestCommand> = {
  type: 'AppendEntries',
  term: 3,
  from: 'a',
  to: 'b',
  prevLogIndex: 4,
  prevLogTerm: 2,
  leaderCommit: 4,
  round: 0,
  entries: [],
};

const installSnapshot: InstallSnapshot = {
  type: 'InstallSnapshot',
  term: 3,
  from: 'a',
  to: 'b',
  round: 7,
  snapshot: {
    meta: { index: 40, term: 2, membership: { voters: ['a', 'b', 'c'], learners: [] } },
    data: null,
  },
};

describe('message codec properties', () => {
  it('decodes what it encodes, exactly', () => {
    fc.assert(
      fc.property(message, (original) => {
        const decoded = decodeMessage(encodeMessage(original, codec), codec);
        expect(decoded).toEqual({ ok: true, message: original });
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        expect(typeof decodeMessage(bytes, codec).ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on random bytes behind a valid type tag', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.uint8Array({ maxLength: 256 }), (tag, tail) => {
        expect(typeof decodeMessage(Uint8Array.of(tag, ...tail), codec).ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on corrupted encodings, and what it accepts is well-formed', () => {
    const corruption = fc.oneof(
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
      fc.record({
        kind: fc.constant('append' as const),
        tail: fc.uint8Array({ minLength: 1, maxLength: 8 }),
      }),
    );
    fc.assert(
      fc.property(message, corruption, (original, change) => {
        const bytes = encodeMessage(original, codec).slice();
        let corrupted: Uint8Array;
        if (change.kind === 'truncate') corrupted = bytes.subarray(0, change.at % bytes.length);
        else if (change.kind === 'append') corrupted = Uint8Array.of(...bytes, ...change.tail);
        else {
          const at = change.at % bytes.length;
          bytes[at] = bytes[at]! ^ change.mask;
          corrupted = bytes;
        }
        const result = decodeMessage(corrupted, codec);
        if (result.ok) {
          expect(checkMessage(result.message)).toBeUndefined();
          expect(decodeMessage(encodeMessage(result.message, codec), codec)).toEqual(result);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('message codec rejects', () => {
  it('an unknown type tag, an empty buffer, and trailing bytes', () => {
    expect(rejection(new Uint8Array())).toMatch(/end of data/);
    for (const tag of [0, 10]) {
      expect(rejection(new ByteWriter().u8(tag).varint(1).string('a').string('b').finish())).toMatch(
        /unknown message tag/,
      );
    }
    const valid = encodeMessage(heartbeat, codec);
    expect(rejection(Uint8Array.of(...valid, 0))).toMatch(/trailing/);
  });

  it('a varint that is too long or beyond the safe integers', () => {
    expect(rejection(Uint8Array.of(1, ...new Array(9).fill(0xff)))).toMatch(/varint too long/);
    expect(rejection(Uint8Array.of(1, ...new Array(7).fill(0xff), 0x7f))).toMatch(/safe integer/);
  });

  it('node ids that are empty, too long, or not UTF-8', () => {
    const id = (from: Uint8Array) => new ByteWriter().u8(2).varint(1).bytes(from).string('b').u8(1).finish();
    expect(rejection(id(new Uint8Array()))).toMatch(/non-empty/);
    expect(rejection(id(new Uint8Array(MAX_NODE_ID_BYTES + 1).fill(0x61)))).toMatch(/does not fit/);
    expect(decodeMessage(id(new Uint8Array(MAX_NODE_ID_BYTES).fill(0x61)), codec).ok).toBe(true);
    expect(rejection(id(Uint8Array.of(0xc3, 0x28)))).toMatch(/UTF-8/);
    // Names every object has would find the object's own member wherever ids key a plain object.
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(rejection(id(new TextEncoder().encode(name))), name).toMatch(
        /a name every JavaScript object has/,
      );
    }
  });

  it('a flag byte other than 0 or 1', () => {
    const response = new ByteWriter().u8(2).varint(1).string('a').string('b').u8(2).finish();
    expect(rejection(response)).toMatch(/flag/);
    const transfer = new ByteWriter().u8(1).varint(1).string('a').string('b').varint(0).varint(0).u8(7);
    expect(rejection(transfer.finish())).toMatch(/flag byte 7/);
  });

  it('a candidate or leader whose log terms exceed its term', () => {
    const vote = new ByteWriter().u8(1).varint(1).string('a').string('b').varint(5).varint(2).u8(0).finish();
    expect(rejection(vote)).toMatch(/lastLogTerm exceeds term/);
    expect(rejection(rawAppendEntries({ term: 1, prevLogIndex: 0, prevLogTerm: 2 }, []))).toMatch(
      /prevLogTerm/,
    );
  });

  it('entries that are not contiguous from prevLogIndex + 1', () => {
    const fields = { term: 3, prevLogIndex: 4, prevLogTerm: 2 };
    const skipFirst = [{ index: 6, term: 3, kind: 'noop' as const }];
    expect(rejection(rawAppendEntries(fields, skipFirst))).toMatch(/index 6 where 5 was due/);
    const gap = [
      { index: 5, term: 3, kind: 'noop' as const },
      { index: 7, term: 3, kind: 'noop' as const },
    ];
    expect(rejection(rawAppendEntries(fields, gap))).toMatch(/entry 1: index 7 where 6 was due/);
  });

  it('entry terms that decrease or exceed the message term', () => {
    const fields = { term: 3, prevLogIndex: 4, prevLogTerm: 2 };
    const belowPrev = [{ index: 5, term: 1, kind: 'noop' as const }];
    expect(rejection(rawAppendEntries(fields, belowPrev))).toMatch(/term decreases/);
    const decreasing = [
      { index: 5, term: 3, kind: 'noop' as const },
      { index: 6, term: 2, kind: 'noop' as const },
    ];
    expect(rejection(rawAppendEntries(fields, decreasing))).toMatch(/term decreases/);
    const future = [{ index: 5, term: 4, kind: 'noop' as const }];
    expect(rejection(rawAppendEntries(fields, future))).toMatch(/exceeds the message term/);
  });

  it('memberships with invalid ids, too many ids (before reading them), or a bad outgoing flag', () => {
    const snapshot = (write: (writer: ByteWriter) => void) => {
      const writer = new ByteWriter().u8(7).varint(3).string('a').string('b').varint(0).varint(4).varint(2);
      write(writer);
      return writer.finish();
    };
    const lists =
      (voters: Uint8Array[], outgoing = 0) =>
      (writer: ByteWriter) => {
        writer.varint(voters.length);
        for (const id of voters) writer.bytes(id);
        writer.varint(0).u8(outgoing);
      };
    const a = encoder.encode('a');
    expect(decodeMessage(snapshot(lists([a])), codec).ok).toBe(true);
    expect(rejection(snapshot(lists([new Uint8Array()])))).toMatch(/voters: node id must be a non-empty/);
    expect(rejection(snapshot(lists([Uint8Array.of(0xc3, 0x28)])))).toMatch(/UTF-8/);
    expect(rejection(snapshot(lists([a], 2)))).toMatch(/outgoing flag 2/);
    expect(rejection(snapshot((writer) => writer.varint(1e9)))).toMatch(`more than ${MAX_MEMBERS} ids`);

    const config = { index: 1, term: 1, kind: 'config' as const, membership: { voters: [''], learners: [] } };
    const fields = { term: 1, prevLogIndex: 0, prevLogTerm: 0 };
    expect(rejection(rawAppendEntries(fields, [config]))).toMatch(/entry 0: membership voters: node id/);
  });

  it('more entries than the limit, before reading them', () => {
    const fields = { term: 1, prevLogIndex: 0, prevLogTerm: 0 };
    expect(rejection(rawAppendEntries(fields, [], 1_000_000_000))).toMatch(/more than 16 entries/);
  });

  it('commands the command codec refuses, whatever it throws', () => {
    const list = [{ index: 1, term: 1, kind: 'command' as const, command: 'x' }];
    const bytes = rawAppendEntries({ term: 1, prevLogIndex: 0, prevLogTerm: 0 }, list);
    const refusing = (thrown: unknown): CommandCodec<TestCommand> => ({
      encode: codec.encode,
      decode: () => {
        throw thrown;
      },
    });
    expect(rejection(bytes, refusing(new Error('no')))).toMatch(/command does not decode: no/);
    expect(typeof rejection(bytes, refusing(null))).toBe('string');
    const hostile = {
      get message(): string {
        throw new Error('gotcha');
      },
    };
    expect(typeof rejection(bytes, refusing(hostile))).toBe('string');
    const silent: CommandCodec<TestCommand> = { encode: codec.encode, decode: () => undefined as never };
    expect(rejection(bytes, silent)).toMatch(/command entry without a command/);
  });
});

describe('message encoder', () => {
  it('refuses messages its peers would reject', () => {
    expect(() => encodeMessage({ ...heartbeat, term: 1.5 }, codec)).toThrow(RangeError);
    expect(() => encodeMessage({ ...heartbeat, term: -1 }, codec)).toThrow(/non-negative/);
    expect(() => encodeMessage({ ...heartbeat, from: '\uD800' }, codec)).toThrow(/well-formed/);
    expect(() => encodeMessage({ ...heartbeat, to: 'x'.repeat(MAX_NODE_ID_BYTES + 1) }, codec)).toThrow(
      /longer/,
    );
    const unknown = { ...heartbeat, type: 'Snapshot' } as unknown as Message<TestCommand>;
    expect(() => encodeMessage(unknown, codec)).toThrow(/unknown message type/);
  });

  it('refuses new fields of the wrong shape, and entries whose kind and membership disagree', () => {
    expect(() => encodeMessage({ ...heartbeat, round: -1 }, codec)).toThrow(/round must be a non-negative/);
    const vote = { type: 'RequestVote', term: 1, from: 'a', to: 'b', lastLogIndex: 0, lastLogTerm: 0 };
    expect(() => encodeMessage(vote as Message<TestCommand>, codec)).toThrow(/transfer must be boolean/);
    const voters = { voters: ['a'], learners: [] };
    const noop = { index: 5, term: 3, kind: 'noop' as const, membership: voters };
    expect(() => encodeMessage({ ...heartbeat, entries: [noop] }, codec)).toThrow(/exactly with a config/);
    const config = { index: 5, term: 3, kind: 'config' as const };
    expect(() => encodeMessage({ ...heartbeat, entries: [config] }, codec)).toThrow(/exactly with a config/);
    const tooMany = { voters: new Array(MAX_MEMBERS + 1).fill('a'), learners: [] };
    const crowded = { ...config, membership: tooMany };
    expect(() => encodeMessage({ ...heartbeat, entries: [crowded] }, codec)).toThrow(/more than 1000 ids/);
    const noMeta = { ...installSnapshot, snapshot: { data: null } } as unknown as Message<TestCommand>;
    expect(() => encodeMessage(noMeta, codec)).toThrow(/snapshot.meta must be an object/);
  });

  it("leaves an InstallSnapshot's data out: it travels apart", () => {
    const data = { kind: 'snapshot-ref', name: 'x'.repeat(1000), bytes: 1e9, crc32: 7 };
    const bytes = encodeMessage(
      { ...installSnapshot, snapshot: { ...installSnapshot.snapshot, data } },
      codec,
    );
    expect(bytes.length).toBeLessThan(30);
    expect(decodeMessage(bytes, codec)).toEqual({ ok: true, message: installSnapshot });
  });

  it('is compact: a heartbeat takes a dozen bytes', () => {
    expect(encodeMessage(heartbeat, codec).length).toBeLessThanOrEqual(12);
  });
});
