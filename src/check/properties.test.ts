/**
 * The checker under fast-check: histories generated from a sequential execution with random overlaps are
 * always linearizable; a mutated output is always caught, with that operation as the culprit; and the memoized
 * search agrees with the plain one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLinearizable, partitionHistory } from './check.js';
import { type KvOperation, kvModel } from './kv-model.js';
import { searchLinearization } from './search.js';
import { simulatedHistory } from './test-support.js';

const seed = Number(process.env.PROPERTY_SEED ?? Date.now() % 2 ** 31);
const runs = Number(process.env.PROPERTY_RUNS ?? 200);
const parameters = { seed, numRuns: runs };
console.log(`checker properties: PROPERTY_SEED=${seed} PROPERTY_RUNS=${runs}`);

/**
 * Failing histories with many writes of unknown outcome are exponential to refute (each may take effect
 * anywhere), so the mutation properties keep them rarer and shorter than the legal ones.
 */
const histories = (clients: fc.Arbitrary<number>, { operations = 120, unknownRates = [0, 0.05, 0.2] } = {}) =>
  fc.record({
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    clients,
    keys: fc.integer({ min: 1, max: 4 }),
    operations: fc.integer({ min: 1, max: operations }),
    maxLatency: fc.integer({ min: 1, max: 30 }),
    unknownRate: fc.constantFrom(...unknownRates),
  });
const mutable = { operations: 80, unknownRates: [0, 0.05] };

const known = (history: KvOperation[]) => history.filter((o) => o.completed !== undefined);

describe('checker properties', () => {
  it('histories of a sequential execution with random overlaps are linearizable', () => {
    fc.assert(
      fc.property(histories(fc.integer({ min: 1, max: 10 })), (options) => {
        const history = simulatedHistory(options.seed, options);
        expect(checkLinearizable(kvModel, history).verdict).toBe('linearizable');
      }),
      parameters,
    );
  });

  it('a linearizable history stays linearizable when configurations share fingerprints all the time', () => {
    // At 3 bits nearly every configuration shares a fingerprint with one seen before: the memoized search
    // prunes what it should explore and fails. The plain search that checks every failure must overrule it.
    let overruled = 0;
    fc.assert(
      fc.property(histories(fc.integer({ min: 2, max: 6 })), (options) => {
        const history = simulatedHistory(options.seed, options);
        const narrow = checkLinearizable(kvModel, history, { fingerprintBits: 3 });
        expect(narrow.verdict).not.toBe('not-linearizable');
        expect(narrow.failure).toBeUndefined();
        for (const operations of partitionHistory(kvModel, history).values())
          if (
            searchLinearization(kvModel, operations, null, { fingerprintBits: 3 }).outcome ===
            'not-linearizable'
          )
            overruled++;
      }),
      parameters,
    );
    // Else the property says nothing: the narrowed fingerprints must have misled the memoized search.
    expect(overruled).toBeGreaterThan(0);
  });

  it('a read of a value never written is caught, and it is the culprit', () => {
    fc.assert(
      fc.property(histories(fc.integer({ min: 1, max: 10 }), mutable), fc.nat(), (options, pick) => {
        const history = simulatedHistory(options.seed, options);
        const reads = known(history).filter((o) => o.input.op === 'get');
        fc.pre(reads.length > 0);
        const target = reads[pick % reads.length]!;
        const mutated = { ...target, output: { value: 'never written' } };
        const result = checkLinearizable(
          kvModel,
          history.map((o) => (o === target ? mutated : o)),
        );
        expect(result.verdict).toBe('not-linearizable');
        const failure = result.failure!;
        expect(failure.culprit).toBe(mutated);
        // The window fails from every start state (the plain search may run out of steps on a long one).
        for (const start of failure.startStates as (string | null)[])
          expect(searchLinearization(kvModel, failure.checked, start).outcome).toBe('not-linearizable');
      }),
      parameters,
    );
  });

  it('in a history with no overlap, any changed output is caught', () => {
    fc.assert(
      fc.property(histories(fc.constant(1)), fc.nat(), (options, pick) => {
        const history = simulatedHistory(options.seed, { ...options, unknownRate: 0 });
        const target = history[pick % history.length]!;
        const { input, output } = target;
        const wrong =
          input.op === 'get'
            ? { value: output!.value === null ? 'other' : null }
            : input.op === 'put'
              ? { previous: output!.previous === null ? 'other' : null }
              : input.op === 'delete'
                ? { deleted: !output!.deleted }
                : { swapped: !output!.swapped };
        const result = checkLinearizable(
          kvModel,
          history.map((o) => (o === target ? { ...o, output: wrong } : o)),
        );
        expect(result.verdict).toBe('not-linearizable');
        expect(result.failure!.window.length).toBeGreaterThan(0);
        expect(result.failure!.verified).toBe(true);
      }),
      parameters,
    );
  });

  it('the memoized search agrees with the plain one on random outputs', () => {
    fc.assert(
      fc.property(
        histories(fc.integer({ min: 2, max: 6 })).map((o) => ({
          ...o,
          operations: Math.min(o.operations, 30),
        })),
        fc.nat(),
        (options, pick) => {
          const history = simulatedHistory(options.seed, options);
          // Scramble one read's output to another value seen on its key: legal or not, both must agree.
          const reads = known(history).filter((o) => o.input.op === 'get');
          const values = history.flatMap((o) => (o.input.op === 'put' ? [o.input.value] : []));
          const target = reads[pick % Math.max(reads.length, 1)];
          const scrambled = history.map((o) =>
            o === target ? { ...o, output: { value: values[pick % Math.max(values.length, 1)] ?? null } } : o,
          );
          for (const operations of partitionHistory(kvModel, scrambled).values()) {
            const memo = searchLinearization(kvModel, operations, null).outcome;
            const plain = searchLinearization(kvModel, operations, null, {
              memo: false,
              maxSteps: 1_000_000,
            }).outcome;
            if (plain !== 'timeout') expect(memo).toBe(plain);
          }
        },
      ),
      parameters,
    );
  });
});
