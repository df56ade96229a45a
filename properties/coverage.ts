/**
 * What random histories exercise: how often, per history, the events and effects that the properties are
 * about happen (elections, commits, snapshots taken, installed and restored, membership changes that take
 * effect, transfers that succeed, reads answered), and how often a history breaks a property. For tuning the
 * mix in arbitraries.ts:
 *
 *   npx tsx properties/coverage.ts [size] [histories] [property]     (defaults: 3 100 safety)
 */
import fc from 'fast-check';
import { type Effect, type Event, status } from '../src/core/index.js';
import type { ClusterObserver } from '../src/runtime/simulator/index.js';
import { scenarioArbitrary } from './arbitraries.js';
import { propertySeed } from './env.js';
import { propertyOptions } from './property-options.js';
import { runScenario } from './run.js';
import type { Command } from './scenario.js';
import type { PropertyKind } from './trace.js';

type Counts = Record<string, number>;

function counter(counts: Counts): ClusterObserver<Command> {
  const count = (what: string, n = 1) => {
    counts[what] = (counts[what] ?? 0) + n;
  };
  return {
    transition: (_node, event: Event<Command>, before, after, effects: readonly Effect<Command>[]) => {
      const [was, is] = [status(before), status(after)];
      if (is.role === 'leader' && was.role !== 'leader') count('leaders elected');
      if (is.term > was.term && is.role === 'candidate') count('elections started');
      if (event.type === 'changeMembership' && is.lastIndex > was.lastIndex) count('changes started');
      if (
        was.membership.outgoing !== undefined &&
        is.membership.outgoing === undefined &&
        is.role === 'leader'
      )
        count('changes completed (on a leader)');
      if (event.type === 'transferLeadership' && is.transferring !== null) count('transfers started');
      if (event.type === 'receive' && event.message.type === 'TimeoutNow') count('TimeoutNow received');
      for (const effect of effects) {
        if (effect.type === 'persist' && effect.snapshot !== undefined)
          count(event.type === 'snapshot' ? 'snapshots taken' : 'snapshots installed');
        if (effect.type === 'apply') count('entries applied', effect.entries.length);
        if (effect.type === 'send' && effect.message.type === 'InstallSnapshot')
          count('InstallSnapshot sent');
        if (effect.type === 'readReady') count('reads ready');
        if (effect.type === 'readReady' && event.type === 'read') count('reads ready at once (lease)');
        if (effect.type === 'readFailed') count('reads failed');
      }
    },
    restarted: (_node, effects) => {
      if (effects.some((effect) => effect.type === 'restore')) count('restarts from a snapshot');
    },
  };
}

function main(args: readonly string[]): void {
  const size = Number(args[0] ?? 3);
  const histories = Number(args[1] ?? 100);
  const property = (args[2] ?? 'safety') as PropertyKind;
  const seed = propertySeed();
  const counts: Counts = {};
  /** How many histories saw each at least once. */
  const seen: Counts = {};
  const broken: Counts = {};
  const started = Date.now();
  for (const scenario of fc.sample(scenarioArbitrary(size), { numRuns: histories, seed })) {
    const mine: Counts = {};
    const violation = runScenario(scenario, {
      observer: counter(mine),
      ...propertyOptions(property, scenario),
    });
    for (const [what, n] of Object.entries(mine)) {
      counts[what] = (counts[what] ?? 0) + n;
      seen[what] = (seen[what] ?? 0) + 1;
    }
    if (violation !== undefined) broken[violation.property] = (broken[violation.property] ?? 0) + 1;
  }
  const seconds = (Date.now() - started) / 1000;
  console.log(`${histories} ${property} histories on ${size} nodes, PROPERTY_SEED=${seed}, ${seconds} s`);
  for (const [what, n] of Object.entries(counts)) {
    const share = ((100 * seen[what]!) / histories).toFixed(0);
    console.log(`  ${what}: ${(n / histories).toFixed(1)} per history, in ${share}% of them`);
  }
  for (const [what, n] of Object.entries(broken)) console.log(`  BROKEN ${what}: ${n}`);
}

main(process.argv.slice(2));
