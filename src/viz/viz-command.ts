/** `pureraft viz`: the visualizer in the browser: a simulation, trace files, or a running cluster. */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type CommandSpec, defineCommand, type Flag, type FlagValues, UsageError } from '../cli/flags.js';
import { startVizServer } from './server.js';

const spec = {
  name: 'viz',
  summary: 'watch Raft run in the browser: a simulation, trace files, or a running cluster',
  synopsis: '[flags]',
  details: `
Serves the visualizer on 127.0.0.1 and prints its address. Without flags the page runs the real core on the
deterministic simulator. --trace opens trace files: a failing property's JSON trace, or real nodes' --trace
files (several: one cluster, played together). --live follows a running cluster's --trace-dir (what
\`pureraft cluster --viz\` does by itself); --status names the nodes' HTTP addresses, so that a node that
died is drawn down. Runs from a checkout of the repository (it needs vite, a development dependency).`,
  positionals: 0,
  flags: {
    port: {
      type: 'integer',
      placeholder: 'port',
      description: 'Where to serve the page. Default 5173 (or the next free one).',
    },
    trace: { type: 'list', placeholder: 'file', description: 'A trace file to open.' },
    live: { type: 'string', placeholder: 'dir', description: "A running cluster's trace directory." },
    status: {
      type: 'list',
      placeholder: 'id=url',
      description: "A live node's HTTP address, e.g. n1=http://127.0.0.1:8001.",
    },
  },
} as const satisfies CommandSpec<Readonly<Record<string, Flag>>>;

export const vizCommand = defineCommand(spec, run);

function watched(entries: readonly string[], usage: string): { id: string; url: string }[] {
  return entries.map((entry) => {
    const [id, url] = entry.split('=', 2);
    if (!id || !url) throw new UsageError(`--status ${entry}: expected id=url`, usage);
    return { id, url };
  });
}

/** Refuses, as a usage error, a flag's path that is missing or of the wrong kind. */
async function requirePath(
  flag: string,
  path: string,
  kind: 'file' | 'directory',
  usage: string,
  hint = '',
): Promise<void> {
  const stats = await stat(path).catch((error: NodeJS.ErrnoException) => error);
  if (stats instanceof Error) throw new UsageError(`${flag} ${path}: ${stats.message}${hint}`, usage);
  if (kind === 'file' ? !stats.isFile() : !stats.isDirectory())
    throw new UsageError(`${flag} ${path}: not a ${kind}`, usage);
}

async function run(
  flags: FlagValues<typeof spec.flags>,
  _positionals: readonly string[],
  usage: string,
): Promise<number> {
  if (flags.live !== undefined && flags.trace !== undefined)
    throw new UsageError('--live and --trace do not go together', usage);
  if (flags.status !== undefined && flags.live === undefined)
    throw new UsageError('--status names the nodes of a --live cluster: it goes with --live', usage);
  // A path that cannot be read is said now, not as a 404 in the page.
  if (flags.live !== undefined)
    await requirePath(
      '--live',
      flags.live,
      'directory',
      usage,
      ' (a cluster started with --trace-dir writes there)',
    );
  for (const path of flags.trace ?? []) await requirePath('--trace', path, 'file', usage);
  const server = await startVizServer({
    ...(flags.port !== undefined && { port: flags.port }),
    ...(flags.trace !== undefined && { traces: flags.trace.map((path) => resolve(path)) }),
    ...(flags.live !== undefined && {
      live: { traceDir: resolve(flags.live), nodes: watched(flags.status ?? [], usage) },
    }),
  });
  process.stdout.write(`pureraft viz: open ${server.url}\nCtrl-C stops it.\n`);
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await server.close();
  return 0;
}
