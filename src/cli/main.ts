#!/usr/bin/env node
import { tortureCommand } from '../check/torture/command.js';
import { vizCommand } from '../viz/viz-command.js';
import { certsCommand } from './certs-command.js';
/** The `pureraft` command line: `cluster`, `node`, `member`, `replay`, `transfer-leadership`, `certs`, `torture` and `viz`, each with --help. */
import { clusterCommand } from './cluster-command.js';
import { type Command, UsageError } from './flags.js';
import { memberCommand } from './member-command.js';
import { nodeCommand } from './node-command.js';
import { replayCommand } from './replay-command.js';
import { transferCommand } from './transfer-command.js';

const commands: ReadonlyMap<string, Command> = new Map(
  [
    clusterCommand,
    nodeCommand,
    replayCommand,
    transferCommand,
    memberCommand,
    certsCommand,
    tortureCommand,
    vizCommand,
  ].map((command) => [command.spec.name, command]),
);

function topUsage(): string {
  const width = Math.max(...[...commands.keys()].map((name) => name.length));
  const rows = [...commands.values()].map(({ spec }) => `  ${spec.name.padEnd(width)}  ${spec.summary}`);
  return `Usage: pureraft <command> [flags]\n\nCommands:\n${rows.join('\n')}\n\nRun \`pureraft <command> --help\` for a command's flags.\n`;
}

/** Runs the command line; resolves with the exit code: 0 done, 1 failed, 2 bad usage (torture: 3, a check ran out of time). */
async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(topUsage());
    return 0;
  }
  const command = name === undefined ? undefined : commands.get(name);
  if (command === undefined) {
    const problem = name === undefined ? 'missing a command' : `unknown command ${JSON.stringify(name)}`;
    process.stderr.write(`pureraft: ${problem}\n\n${topUsage()}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`pureraft ${name}: ${error.message}\n\n${error.usage}`);
      return 2;
    }
    process.stderr.write(`pureraft ${name}: ${(error as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
