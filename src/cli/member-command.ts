/**
 * `pureraft member add|promote|remove|list`: changes the cluster's members through any node's HTTP API
 * (cluster-admin.ts on the leader; a follower redirects). Replacing a machine is: `pureraft node --join` on the
 * new one (or `member add`), `member promote` once it has caught up, `member remove` for the old one.
 */
import type { NodeId } from '../core/index.js';
import { checkNodeId } from '../effects/transport/index.js';
import { PROMOTE_MAX_LAG } from '../kv/index.js';
import {
  type AdminCall,
  addressFlag,
  adminCallAny,
  DEFAULT_NODES,
  failure,
  nodesFlag,
  TOKEN_ENV,
} from './admin-client.js';
import { type CommandSpec, defineCommand, type Flag, type FlagValues, UsageError } from './flags.js';

const spec = {
  name: 'member',
  summary: 'add, promote, remove or list the members of a running cluster',
  synopsis: '<add|promote|remove|list> [flags]',
  details: `
Actions:
  add      --id <id> --raft <host:port> --http <host:port>
           Records the new node's addresses and adds it as a learner: it receives the log (or a snapshot) and
           does not vote. Start it first (\`pureraft node --join\` does both at once).
  promote  --id <id>
           Makes a learner a voter, once it is caught up (at most ${PROMOTE_MAX_LAG} entries behind the leader; until then the
           answer says how far behind it is: try again).
  remove   --id <id>
           Removes a voter or a learner. Removing the leader is allowed: it steps down once the change is
           committed and the others elect a new one.
  list     Prints the members, their roles, addresses and how far behind the leader each one is.

Any node takes the request (a follower redirects it to the leader); a node that refuses the connection is skipped
for the next one given. One change at a time: a change still in
progress makes the next one fail (409); try again. With API tokens, pass a read-write token in ${TOKEN_ENV}
(or --token).

Examples:
  pureraft member list --node 127.0.0.1:8001
  pureraft member add --node 127.0.0.1:8001 --id n4 --raft 10.0.0.4:7001 --http 10.0.0.4:8001
  pureraft member promote --node 127.0.0.1:8001 --id n4
  pureraft member remove --node 127.0.0.1:8001 --id n2`,
  positionals: 1,
  flags: {
    node: {
      type: 'string',
      placeholder: 'host:port',
      description: `Any member's HTTP address (or URL), or several separated by commas, tried in turn. Default ${DEFAULT_NODES.join(',')}.`,
    },
    id: { type: 'string', placeholder: 'id', description: 'The member to add, promote or remove.' },
    raft: {
      type: 'string',
      placeholder: 'host:port',
      description: 'add: where the new node listens for peers.',
    },
    http: { type: 'string', placeholder: 'host:port', description: 'add: where the new node serves HTTP.' },
    token: {
      type: 'string',
      placeholder: 'token',
      description: `An API bearer token (prefer ${TOKEN_ENV}).`,
    },
    timeout: {
      type: 'integer',
      placeholder: 'ms',
      description: 'How long to wait for the change to be committed. Default 15000.',
    },
  },
} as const satisfies CommandSpec<Readonly<Record<string, Flag>>>;

type MemberFlags = FlagValues<typeof spec.flags>;
export type MemberAction = 'add' | 'promote' | 'remove' | 'list';
const actions: readonly string[] = ['add', 'promote', 'remove', 'list'] satisfies MemberAction[];

export interface MemberPlan {
  readonly action: MemberAction;
  /** Whom to ask, in turn until one can be reached. */
  readonly nodes: readonly string[];
  readonly call: AdminCall;
}

/** What the command line asks for, checked: a UsageError (exit 2) names any mistake. */
export function memberPlan(
  flags: MemberFlags,
  [action]: readonly string[],
  env: NodeJS.ProcessEnv,
  usage: string,
): MemberPlan {
  if (action === undefined || !actions.includes(action))
    throw new UsageError(`unknown action ${JSON.stringify(action)}: use add, promote, remove or list`, usage);
  const timeoutMs = flags.timeout ?? 15_000;
  if (timeoutMs <= 0) throw new UsageError(`--timeout must be positive, got ${timeoutMs}`, usage);
  const nodes = nodesFlag(flags.node, usage);
  const token = flags.token ?? (env[TOKEN_ENV] || undefined);
  const base = { timeoutMs, ...(token !== undefined && { token }) };
  const needs = (names: readonly (keyof MemberFlags)[]) => {
    const allowed = new Set<string>(['node', 'token', 'timeout', ...names]);
    const extra = Object.keys(flags).find((name) => !allowed.has(name));
    if (extra !== undefined) throw new UsageError(`--${extra} does not go with "${action}"`, usage);
    const missing = names.find((name) => flags[name] === undefined);
    if (missing !== undefined) throw new UsageError(`"${action}" needs --${missing}`, usage);
  };
  const id = (): NodeId => {
    const problem = checkNodeId(flags.id!);
    if (problem !== undefined) throw new UsageError(`bad --id: ${problem}`, usage);
    return flags.id!;
  };
  switch (action as MemberAction) {
    case 'list':
      needs([]);
      return { action: 'list', nodes, call: { ...base, method: 'GET', path: '/cluster' } };
    case 'add': {
      needs(['id', 'raft', 'http']);
      const body = {
        id: id(),
        raft: addressFlag(flags.raft!, '--raft', usage),
        http: addressFlag(flags.http!, '--http', usage),
      };
      return { action: 'add', nodes, call: { ...base, method: 'POST', path: '/cluster/learners', body } };
    }
    case 'promote':
      needs(['id']);
      return {
        action: 'promote',
        nodes,
        call: { ...base, method: 'POST', path: '/cluster/promote', body: { id: id() } },
      };
    case 'remove':
      needs(['id']);
      return {
        action: 'remove',
        nodes,
        call: { ...base, method: 'DELETE', path: `/cluster/members/${encodeURIComponent(id())}` },
      };
  }
}

export const memberCommand = defineCommand(spec, run);

async function run(flags: MemberFlags, positionals: readonly string[], usage: string): Promise<number> {
  const plan = memberPlan(flags, positionals, process.env, usage);
  const answer = await adminCallAny(plan.nodes, plan.call);
  if (answer.status !== 200) throw new Error(`${plan.action} failed ${failure(answer)}`);
  process.stdout.write(describeAnswer(plan.action, answer.body));
  return 0;
}

interface MemberLine {
  readonly id: string;
  readonly role: string;
  readonly raft: string | null;
  readonly http: string | null;
  readonly lag: number;
}

/** The answer as text for a person: a table for `list`, a sentence and the new configuration otherwise. */
export function describeAnswer(action: MemberAction, body: Record<string, unknown>): string {
  if (action === 'list') {
    const members = (body.members ?? []) as MemberLine[];
    const rows = [
      ['ID', 'ROLE', 'RAFT', 'HTTP', 'LAG'],
      ...members.map((m) => [
        m.id === body.leader ? `${m.id}*` : m.id,
        m.role,
        m.raft ?? '?',
        m.http ?? '?',
        String(m.lag),
      ]),
    ];
    const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
    const table = rows.map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    );
    const changing = body.changing === true ? '; a membership change is in progress' : '';
    return `leader ${String(body.leader)} (* above), term ${String(body.term)}, last index ${String(body.lastIndex)}${changing}\n${table.join('\n')}\n`;
  }
  const { voters = [], learners = [] } = (body.membership ?? {}) as {
    voters?: string[];
    learners?: string[];
  };
  const done = { add: 'added as a learner', promote: 'promoted to voter', remove: 'removed' }[action];
  const list = (ids: readonly string[]) => (ids.length === 0 ? '(none)' : ids.join(' '));
  return `${String(body.id)} ${done}; voters: ${list(voters)}; learners: ${list(learners)}\n`;
}
