/** `pureraft replay`: a recorded trace through the reducer, printing each transition and checking it. */
import { readTrace, replay } from '../runtime/node/index.js';
import { type CommandSpec, defineCommand, type Flag, type FlagValues } from './flags.js';

const spec = {
  name: 'replay',
  summary: 'replay a recorded trace through the reducer and check that it matches',
  synopsis: '[flags] <trace>',
  details: `
Replays a trace recorded by \`pureraft node --trace <file>\` through init and step, printing every event
and the effects it produced, and checks each transition against the fingerprint recorded with it. Exits
with 0 when the whole run was reproduced exactly, 1 when some transition differs.`,
  positionals: 1,
  flags: {
    quiet: { type: 'boolean', description: 'Print only the summary.' },
  },
} as const satisfies CommandSpec<Readonly<Record<string, Flag>>>;

export const replayCommand = defineCommand(spec, run);

async function run(flags: FlagValues<typeof spec.flags>, [path]: readonly string[]): Promise<number> {
  const trace = await readTrace(path!);
  const print = flags.quiet === true ? () => {} : (line: string) => process.stdout.write(`${line}\n`);
  const differing: number[] = [];
  for (const step of replay(trace)) {
    print(`#${step.position} ${step.event === undefined ? 'init' : JSON.stringify(step.event)}`);
    for (const effect of step.effects) print(`    ${JSON.stringify(effect)}`);
    if (!step.matched) {
      differing.push(step.position);
      print('    ^ differs from the recording');
    }
  }
  const events = trace.events.length;
  const torn = trace.tornTail ? ' (its last line was cut short, and left out)' : '';
  if (differing.length === 0) {
    process.stdout.write(
      `replayed ${events} events from ${path}${torn}: every transition matches the recording\n`,
    );
    return 0;
  }
  process.stdout.write(
    `replayed ${events} events from ${path}${torn}: ${differing.length} transitions differ, the first at #${differing[0]}\n`,
  );
  return 1;
}
