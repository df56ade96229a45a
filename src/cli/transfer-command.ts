/** `pureraft transfer-leadership`: moves leadership to another node, through any node's HTTP API. */
import { adminCallAny, DEFAULT_NODES, failure, nodesFlag, TOKEN_ENV } from './admin-client.js';
import { type CommandSpec, defineCommand, type Flag, type FlagValues, UsageError } from './flags.js';

const spec = {
  name: 'transfer-leadership',
  summary: 'hand leadership to another node (before maintenance on the leader, say)',
  synopsis: '[flags]',
  details: `
Asks the cluster to move leadership (POST /admin/transfer-leadership): the leader stops taking writes, brings
the target up to date, then has it start an election at once, which it wins without waiting for a timeout
(Raft thesis §3.10). Any node takes the request (a follower redirects it to the leader); a node that refuses
the connection is skipped for the next one given. Without --to, the leader picks the most caught-up voter. With
API tokens, pass a read-write token in ${TOKEN_ENV} (or --token). Prints the new leader; exits with 1 if the
transfer failed.

Examples:
  pureraft transfer-leadership --to n3
  pureraft transfer-leadership --node 10.0.0.1:8001,10.0.0.2:8001 --to n3
  pureraft transfer-leadership --node https://n1.example:8001 --to n3`,
  positionals: 0,
  flags: {
    node: {
      type: 'string',
      placeholder: 'host:port',
      description: `Any node's HTTP address (or URL), or several separated by commas, tried in turn. Default ${DEFAULT_NODES.join(',')}.`,
    },
    to: { type: 'string', placeholder: 'id', description: 'The node to hand leadership to.' },
    token: {
      type: 'string',
      placeholder: 'token',
      description: `An API bearer token (prefer ${TOKEN_ENV}).`,
    },
    timeout: {
      type: 'integer',
      placeholder: 'ms',
      description: 'How long to wait for an answer. Default 10000.',
    },
  },
} as const satisfies CommandSpec<Readonly<Record<string, Flag>>>;

export const transferCommand = defineCommand(spec, run);

async function run(flags: FlagValues<typeof spec.flags>, _positionals: readonly string[], usage: string) {
  const nodes = nodesFlag(flags.node, usage);
  const timeoutMs = flags.timeout ?? 10_000;
  if (timeoutMs <= 0) throw new UsageError(`--timeout must be positive, got ${timeoutMs}`, usage);
  const token = flags.token ?? (process.env[TOKEN_ENV] || undefined);
  const query = flags.to === undefined ? '' : `?to=${encodeURIComponent(flags.to)}`;
  const answer = await adminCallAny(nodes, {
    method: 'POST',
    path: `/admin/transfer-leadership${query}`,
    timeoutMs,
    ...(token !== undefined && { token }),
  });
  if (answer.status !== 200) throw new Error(`the transfer failed ${failure(answer)}`);
  const { from, leader, term } = answer.body;
  process.stdout.write(
    from === leader
      ? `${String(leader)} already leads (term ${String(term)})\n`
      : `leadership moved from ${String(from)} to ${String(leader)} (term ${String(term)})\n`,
  );
  return 0;
}
