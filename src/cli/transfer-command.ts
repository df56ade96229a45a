/** `pureraft transfer-leadership`: moves leadership to another node, through any node's HTTP API. */
import { formatAddress } from '../kv/index.js';
import { type CommandSpec, defineCommand, type Flag, type FlagValues, UsageError } from './flags.js';
import { ConfigError, parseAddress } from './node-config.js';

const spec = {
  name: 'transfer-leadership',
  summary: 'hand leadership to another node (before maintenance on the leader, say)',
  synopsis: '[flags]',
  details: `
Asks the cluster to move leadership (POST /admin/transfer-leadership): the leader stops taking writes, brings
the target up to date, then has it start an election at once, which it wins without waiting for a timeout
(Raft thesis §3.10). Any node takes the request (a follower redirects it to the leader). Without --to, the
leader picks the most caught-up voter. Prints the new leader; exits with 1 if the transfer failed.

Example:
  pureraft transfer-leadership --node 127.0.0.1:8002 --to n3`,
  positionals: 0,
  flags: {
    node: {
      type: 'string',
      placeholder: 'host:port',
      description: "Any node's HTTP address. Default 127.0.0.1:8001.",
    },
    to: { type: 'string', placeholder: 'id', description: 'The node to hand leadership to.' },
    timeout: {
      type: 'integer',
      placeholder: 'ms',
      description: 'How long to wait for an answer. Default 10000.',
    },
  },
} as const satisfies CommandSpec<Readonly<Record<string, Flag>>>;

export const transferCommand = defineCommand(spec, run);

async function run(flags: FlagValues<typeof spec.flags>, _positionals: readonly string[], usage: string) {
  let address: string;
  try {
    address = formatAddress(parseAddress(flags.node ?? '127.0.0.1:8001', '--node'));
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message, usage);
    throw error;
  }
  const timeout = flags.timeout ?? 10_000;
  if (timeout <= 0) throw new UsageError(`--timeout must be positive, got ${timeout}`, usage);
  const query = flags.to === undefined ? '' : `?to=${encodeURIComponent(flags.to)}`;
  const url = `http://${address}/admin/transfer-leadership${query}`;
  let response: Response;
  try {
    // fetch follows a follower's 307 to the leader, resending the POST.
    response = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(timeout) });
  } catch (error) {
    throw new Error(`cannot reach ${url}: ${(error as Error).message}`);
  }
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (response.status !== 200) {
    throw new Error(`the transfer failed (${response.status}): ${String(body.error ?? 'no reason given')}`);
  }
  const { from, leader, term } = body;
  process.stdout.write(
    from === leader
      ? `${String(leader)} already leads (term ${String(term)})\n`
      : `leadership moved from ${String(from)} to ${String(leader)} (term ${String(term)})\n`,
  );
  return 0;
}
