/**
 * Answers that arrive terms late (contract rule 6: any message, any delay). An answer to a request of an
 * earlier term carries the answerer's term, and the request's sender may lead again in exactly that term by
 * then: nothing in such an answer may count as news about the new leadership. A review found the core counting
 * one as an acknowledgement of a confirmation round (ReadIndex, thesis §6.4) of the new leadership, so that a
 * read was answered below a write committed before it arrived; random histories never lined that up.
 *
 * Short targeted histories, plain scenarios (so failures replay like any other), judged by the safety checks:
 * n1 leads and sends some heartbeat rounds; the appends of one round to some followers are held back; the
 * leadership goes to another voter and back to n1 (a new term, its rounds counted afresh), which sends more
 * rounds; the held appends arrive, and their answers are held back in turn; n1 is cut off, the others elect a
 * leader and commit a write; reads reach n1 (each starts a round), and last the held answers arrive.
 */
import fc from 'fast-check';
import { type Action, nodeIds, type Scenario, targetedConfig } from './scenario.js';

const flush: Action = { type: 'flush' };

export function staleArbitrary(size: number): fc.Arbitrary<Scenario> {
  const ids = nodeIds(size);
  return fc
    .record({
      seed: fc.nat(),
      maxDelay: fc.constantFrom(10, 30),
      leaseReads: fc.boolean(),
      roundsBefore: fc.integer({ min: 1, max: 6 }),
      held: fc.integer({ min: 1, max: size - 1 }),
      transferTo: fc.nat(size - 2),
      roundsAfter: fc.integer({ min: 0, max: 8 }),
      campaigners: fc.array(fc.constantFrom(...ids.slice(1)), { minLength: 1, maxLength: 3 }),
      reads: fc.integer({ min: 1, max: 4 }),
    })
    .map(
      ({ seed, maxDelay, leaseReads, roundsBefore, held, transferTo, roundsAfter, campaigners, reads }) => {
        const heartbeat: Action = { type: 'fire', node: 'n1', timer: 'heartbeat' };
        const times = (count: number, ...each: Action[]) => Array.from({ length: count }, () => each).flat();
        const actions: Action[] = [
          { type: 'fire', node: 'n1', timer: 'election' },
          { type: 'run', ms: 1_000 },
          ...times(roundsBefore - 1, heartbeat, flush, flush),
          heartbeat,
          ...times(held, { type: 'hold', message: 0 }),
          flush,
          flush,
          // Away and back (the first voter other than the leader is n1): n1 leads a later term.
          { type: 'transfer', node: 'n1', pick: transferTo },
          { type: 'run', ms: 1_000 },
          { type: 'transfer', node: 'leader', pick: 0 },
          { type: 'run', ms: 1_000 },
          ...times(roundsAfter, heartbeat, flush, flush),
          // Each held append arrives; its answer is held in its place.
          ...times(
            held,
            { type: 'release', message: 0 },
            { type: 'deliver', message: 0 },
            { type: 'hold', message: 0 },
          ),
          { type: 'connect', node: 'n1', up: false },
          ...campaigners.flatMap((id): Action[] => [
            { type: 'fire', node: id, timer: 'election' },
            flush,
            flush,
            flush,
          ]),
          { type: 'propose', node: 'leader' },
          flush,
          flush,
          flush,
          ...times(reads, { type: 'read', node: 'n1' }),
          { type: 'connect', node: 'n1', up: true },
          ...times(held, { type: 'release', message: 0 }),
          flush,
          flush,
          { type: 'recover' },
          { type: 'run', ms: 2_000 },
        ];
        return {
          size,
          config: targetedConfig({ maxDelay, seed, checkQuorum: true, leaseReads }),
          actions,
        };
      },
    );
}
