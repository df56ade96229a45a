/**
 * Replays a trace step by step: every action, every transition it causes (event, effects executed, the
 * node's state after), crashes and restarts, then the property broken, compared with the one recorded.
 *
 *   npm run replay -- traces/safety-3n-123.json      (or: npx tsx properties/replay.ts <trace>)
 *
 * Exits with 1 when a property is broken (as the recorded failure should be), 0 when the history passes.
 */
import { fileURLToPath } from 'node:url';
import type { ClusterObserver } from '../src/runtime/simulator/index.js';
import { formatAction, formatEffect, formatEvent, formatState } from './format.js';
import { MUTANTS } from './mutants.js';
import { propertyOptions } from './property-options.js';
import { runScenario, type Violation } from './run.js';
import type { Command } from './scenario.js';
import { readTrace, type Trace } from './trace.js';

/** Prints what the cluster does, as it does it. */
function printer(print: (line: string) => void): ClusterObserver<Command> {
  return {
    transition: (node, event, _before, after, effects) => {
      print(`    ${node.id} <- ${formatEvent(event)}`);
      for (const effect of effects) print(`         ${formatEffect(effect)}`);
      print(`       = ${formatState(after)}`);
    },
    crashed: (node) => print(`    ${node.id} crashed`),
    restarted: (node, effects) => {
      print(`    ${node.id} restarted (incarnation ${node.incarnation})`);
      for (const effect of effects) print(`         ${formatEffect(effect)}`);
      if (node.state !== null) print(`       = ${formatState(node.state)}`);
    },
  };
}

export function replayTrace(trace: Trace, print: (line: string) => void = () => {}): Violation | undefined {
  const reducer = trace.mutant === undefined ? undefined : MUTANTS[trace.mutant];
  const { onAction, afterHistory, ...options } = propertyOptions(trace.property, trace);
  return runScenario(trace, {
    ...options,
    ...(reducer && { reducer }),
    observer: printer(print),
    onAction: (action, position, world) => {
      print(`#${position} ${formatAction(action)} (t=${world.cluster.now})`);
      onAction?.(action, position, world);
    },
    ...(afterHistory && {
      afterHistory: (world) => {
        print(`-- after the history (${trace.property}), from t=${world.cluster.now} --`);
        afterHistory(world);
      },
    }),
  });
}

function main(args: readonly string[]): number {
  const path = args.find((arg) => arg !== '--');
  if (path === undefined) {
    console.error('usage: npm run replay -- <trace.json>');
    return 2;
  }
  const trace = readTrace(path);
  const reducer = trace.mutant === undefined ? 'the real reducer' : `mutant ${trace.mutant}`;
  console.log(`${trace.property} on ${trace.size} nodes, ${trace.actions.length} actions, ${reducer}`);
  console.log(`config ${JSON.stringify(trace.config)}`);
  const violation = replayTrace(trace, (line) => console.log(line));
  if (violation === undefined) {
    console.log(`\nno property broken (recorded: ${trace.violation.message})`);
    return 0;
  }
  const same = violation.message === trace.violation.message && violation.step === trace.violation.step;
  console.log(`\nBROKEN at action #${violation.step}: ${violation.message}`);
  console.log(
    same ? 'reproduces the recorded failure exactly' : `recorded instead: ${trace.violation.message}`,
  );
  return 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
