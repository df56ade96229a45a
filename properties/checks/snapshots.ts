/**
 * Snapshots stand for the committed log (§7): every snapshot a node persists (taken or installed) or restores
 * covers committed entries only, and its meta and data are what the committed log says at its index: the term
 * of the entry there, the configuration in force there, and the state a service reaches by applying the
 * committed commands through it (service.ts). So a node that restarts or catches up from a snapshot is where it
 * would be had it applied the same prefix itself.
 *
 * That no node applies an entry at or below a snapshot it restored, nor restores one behind what it applied,
 * is checked by the Cluster on every apply and restore (a SafetyViolation).
 */
import type { NodeId, Snapshot } from '../../src/core/index.js';
import { formatMembership } from '../format.js';
import { PropertyViolation } from '../violation.js';
import type { CommittedLog } from './committed.js';
import { sameMembership } from './logs.js';

export function checkSnapshot(id: NodeId, how: string, snapshot: Snapshot, committed: CommittedLog): void {
  const { index, term, membership } = snapshot.meta;
  const fail = (what: string) => {
    throw new PropertyViolation(
      'snapshots',
      `${id} ${how} a snapshot through ${index} (term ${term}) ${what}`,
    );
  };
  const entry = committed.at(index)?.entry;
  if (entry === undefined) return fail(`past the committed log (${committed.lastIndex})`);
  if (entry.term !== term) return fail(`where the committed entry has term ${entry.term}`);
  const expected = committed.membershipAt(index);
  if (!sameMembership(membership, expected)) {
    return fail(`with ${formatMembership(membership)}, where ${formatMembership(expected)} is in force`);
  }
  const digest = committed.digestAt(index);
  if (snapshot.data !== digest) {
    return fail(`whose data ${JSON.stringify(snapshot.data)} is not the committed state there (${digest})`);
  }
}
