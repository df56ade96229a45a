/**
 * `pureraft node`: one node of a cluster, in the foreground, until SIGINT or SIGTERM. A leader told to stop hands
 * leadership over first, so that restarting the nodes one by one (a rolling restart) never leaves the cluster
 * without a leader for an election timeout.
 */
import { readFile } from 'node:fs/promises';
import { formatAddress, KvNode, type KvNodeConfig } from '../kv/index.js';
import { TOKEN_ENV } from './admin-client.js';
import { type CommandSpec, defineCommand, type Flag, type FlagValues, UsageError } from './flags.js';
import { capHeapGrowth, DEFAULT_HEAP_GROWTH, heapGrowthFlag, heapGrowthPercent } from './heap-growth.js';
import {
  askToJoin,
  checkJoinableDirectory,
  joiningConfig,
  learnCluster,
  readJoinRecord,
  writeJoinRecord,
} from './join.js';
import {
  ConfigError,
  type FileSettings,
  resolveNodeConfig,
  SECRET_ENV,
  settingsFromJson,
} from './node-config.js';
import { snapshotFlags, snapshotSettingsOf } from './snapshot-flags.js';

const spec = {
  name: 'node',
  summary: 'run one node of a cluster (for a real, multi-machine deployment)',
  synopsis: '[flags]',
  details: `
Runs one node of the replicated key-value service: Raft on --raft, the HTTP API on --http. Every node of the
cluster lists all the others with --peer (or in the config file). Settings come from flags, then the JSON
config file (--config; same field names, "peers": {"<id>": {"raft": "host:port", "http": "host:port"}}),
then, for the secret only, the ${SECRET_ENV} environment variable. On SIGINT (Ctrl-C) or SIGTERM, a leader
hands leadership to the most caught-up voter first (waiting at most an election timeout), then the node stops;
the same signal again stops it at once.

The cluster keeps every member's addresses in a replicated address book (the ones it listens on, as --peer
and \`pureraft member add\` give them); a node that must reach a member elsewhere (NAT, a tunnel, a proxy)
says where with --route <id>=<host:port> ("routes": {"<id>": "host:port"} in the config file): it dials that
member's Raft port there, whatever the book says, and only for its own connections. A second address,
--route <id>=<host:port>,<host:port>, does the same for the member's HTTP API (a follower's read asks the
leader for its read index there); clients are still sent to the book's addresses.

Peers prove the cluster secret (and seal every frame with keys derived from it), or, given certificates
(--tls-dir, made by \`pureraft certs\`, or --cert, --key and --ca), authenticate with mutual TLS: each node's
certificate names its id. Certificates also put the HTTP API on HTTPS; --tokens makes clients present a bearer
token. An API reachable beyond this machine needs both, or --insecure.

A new machine joins a running cluster with --join <any member's URL> instead of --peer: it learns the
members from the cluster, starts with an empty data directory, asks to be added as a learner and catches up
(by snapshot if the leader has compacted); then \`pureraft member promote\` makes it a voter. Its --raft and
--http addresses must be reachable from the other members. With API tokens, put a read-write token in
${TOKEN_ENV}. Started again with the same flags, it comes back from its data directory without asking again.

Example (node n1 of three):
  ${SECRET_ENV}=s3cret pureraft node --id n1 --raft 10.0.0.1:7001 --http 10.0.0.1:8001 \\
    --peer n2=10.0.0.2:7001,10.0.0.2:8001 --peer n3=10.0.0.3:7001,10.0.0.3:8001 --data-dir /var/lib/pureraft

Example (a fourth machine joining):
  ${SECRET_ENV}=s3cret pureraft node --id n4 --raft 10.0.0.4:7001 --http 10.0.0.4:8001 \\
    --join http://10.0.0.1:8001 --data-dir /var/lib/pureraft`,
  positionals: 0,
  flags: {
    config: { type: 'string', placeholder: 'file.json', description: 'Read settings from a JSON file.' },
    id: { type: 'string', placeholder: 'id', description: "This node's id, unique in the cluster." },
    raft: { type: 'string', placeholder: 'host:port', description: 'Where to listen for peers.' },
    http: { type: 'string', placeholder: 'host:port', description: 'Where to serve the HTTP API.' },
    peer: {
      type: 'list',
      placeholder: 'id=host:port,host:port',
      description: 'Another node: its id, raft address and http address.',
    },
    route: {
      type: 'list',
      placeholder: 'id=host:port[,host:port]',
      description:
        "Dial that member's Raft port (and, given a second address, its HTTP API) there, whatever the cluster's address book says (NAT, a tunnel, a proxy).",
    },
    join: {
      type: 'string',
      placeholder: 'url',
      description: "Join a running cluster through any member's HTTP URL (instead of --peer).",
    },
    'data-dir': {
      type: 'string',
      placeholder: 'dir',
      description: 'The write-ahead log directory. Default ./.data/<id>.',
    },
    secret: {
      type: 'string',
      placeholder: 'secret',
      description: `The cluster's shared secret (prefer ${SECRET_ENV}).`,
    },
    'election-timeout': {
      type: 'integer',
      placeholder: 'ms',
      description: 'Election timeout, drawn from [ms, 2 ms). Default 400.',
    },
    heartbeat: { type: 'integer', placeholder: 'ms', description: 'Heartbeat interval. Default 100.' },
    'lease-reads': {
      type: 'boolean',
      description:
        'Lease reads: the leader answers linearizable reads without a round while its lease holds (every member must run with it; it assumes bounded clock drift, see the README).',
    },
    ...heapGrowthFlag,
    trace: {
      type: 'string',
      placeholder: 'file',
      description: 'Record every event to a new file, for `pureraft replay`.',
    },
    ...snapshotFlags,
    'tls-dir': {
      type: 'string',
      placeholder: 'dir',
      description: 'Mutual TLS and HTTPS with <dir>/ca.pem, <dir>/<id>.pem and <dir>/<id>-key.pem.',
    },
    cert: { type: 'string', placeholder: 'file', description: "This node's certificate (PEM)." },
    key: { type: 'string', placeholder: 'file', description: "This node's private key (PEM)." },
    ca: { type: 'string', placeholder: 'file', description: "The cluster CA's certificate (PEM)." },
    tokens: {
      type: 'string',
      placeholder: 'file',
      description: 'API bearer tokens, a "<read-only|read-write> <token>" per line.',
    },
    'open-status': { type: 'boolean', description: 'Serve /status and /metrics without a token.' },
    insecure: {
      type: 'boolean',
      description: 'Serve an API beyond loopback without tokens or HTTPS.',
    },
  },
} as const satisfies CommandSpec<Readonly<Record<string, Flag>>>;

type NodeFlags = FlagValues<typeof spec.flags>;

export const nodeCommand = defineCommand(spec, run);

/**
 * The reader of this process's output may go away first (a supervisor that died): a write to the closed pipe
 * then fails with EPIPE, and an unhandled stream error would crash the node in the middle of its handover,
 * leaving its LOCK behind and its clients without the answers they are owed. Its lines are lost; it goes on.
 */
function ignoreClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
}

function log(id: string): (line: string) => void {
  return (line) => process.stderr.write(`${new Date().toISOString()} ${id} ${line}\n`);
}

async function run(flags: NodeFlags, _positionals: readonly string[], usage: string): Promise<number> {
  let config: ReturnType<typeof resolveNodeConfig>;
  try {
    const file: FileSettings =
      flags.config === undefined ? {} : settingsFromJson(await readFile(flags.config, 'utf8'), flags.config);
    config = resolveNodeConfig(
      {
        id: flags.id,
        raft: flags.raft,
        http: flags.http,
        peer: flags.peer,
        route: flags.route,
        dataDir: flags['data-dir'],
        secret: flags.secret,
        electionTimeout: flags['election-timeout'],
        heartbeat: flags.heartbeat,
        leaseReads: flags['lease-reads'],
        trace: flags.trace,
        ...snapshotSettingsOf(flags),
        tlsDir: flags['tls-dir'],
        cert: flags.cert,
        key: flags.key,
        ca: flags.ca,
        tokens: flags.tokens,
        openStatus: flags['open-status'],
        insecure: flags.insecure,
      },
      file,
      process.env,
    );
    if (flags.join !== undefined && Object.keys(config.peers).length > 0)
      throw new ConfigError('--join learns the members from the cluster: leave out --peer (and "peers")');
  } catch (error) {
    if (error instanceof ConfigError || (error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UsageError((error as Error).message, usage);
    }
    throw error;
  }
  const heapGrowth = heapGrowthPercent(flags['heap-growth'], usage);
  ignoreClosedOutput();
  const write = log(config.id);
  const joining = flags.join === undefined ? undefined : await joinPlan(config, flags.join, write);
  if (joining !== undefined) config = joining.config;
  let fatal: (error: Error) => void = () => {};
  const died = new Promise<Error>((resolve) => {
    fatal = resolve;
  });
  const kvNode = new KvNode(config, write, (error) => fatal(error));
  // From the start: loading a large snapshot and replaying the log are where the heap first grows.
  const heapCap = capHeapGrowth({ ...DEFAULT_HEAP_GROWTH, percent: heapGrowth });
  try {
    await kvNode.start();
    await joining?.ask();
  } catch (error) {
    process.stderr.write(`pureraft node ${config.id}: cannot start: ${(error as Error).message}\n`);
    await kvNode.stop().catch(() => {});
    heapCap.stop();
    return 1;
  }
  const scheme = config.tls === undefined ? 'http' : 'https';
  const access = config.tokensFile === undefined ? 'open to all' : 'bearer tokens';
  const peers = config.tls === undefined ? 'shared secret' : 'mutual TLS';
  write(
    `serving ${scheme}://${formatAddress(config.http)} (${access}; raft ${formatAddress(config.raft)}, ${peers}; data ${config.dataDir})`,
  );
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const stoppable = { stop: () => kvNode.stop({ handOver: true }) };
  const code = await untilStopped(stoppable, config.id, died, signalled, write).finally(() => heapCap.stop());
  // A dead node has closed everything it opened, so the process should end by itself; should anything still
  // hold it open, it must exit anyway, for `pureraft cluster` (or systemd, ...) to start it again.
  if (code !== 0) setTimeout(() => process.exit(code), 2_000).unref();
  return code;
}

/**
 * How a node started with --join starts: from its data directory's join record when it joined before,
 * otherwise from what the cluster says, and then (`ask`, once the node runs) by asking to be added (join.ts).
 */
async function joinPlan(
  config: KvNodeConfig,
  url: string,
  write: (line: string) => void,
): Promise<{ config: KvNodeConfig; ask: () => Promise<void> }> {
  const options = { timeoutMs: 15_000, ...(process.env[TOKEN_ENV] && { token: process.env[TOKEN_ENV] }) };
  const earlier = await readJoinRecord(config.dataDir);
  if (earlier !== undefined) {
    write(`joined the cluster before (through ${earlier.cluster}): starting from the data directory`);
    return { config: joiningConfig(config, earlier), ask: async () => {} };
  }
  checkJoinableDirectory(config.dataDir);
  const record = await learnCluster(url, config.id, options);
  write(`joining the cluster through ${url}: voters ${record.voters.join(' ')}`);
  return {
    config: joiningConfig(config, record),
    ask: async () => {
      await askToJoin(record, config, options);
      await writeJoinRecord(config.dataDir, record);
      write(
        'added to the cluster as a learner: it catches up, then `pureraft member promote` makes it a voter',
      );
    },
  };
}

/**
 * Runs a started node until the first of a signal (stops it cleanly: 0) or its fatal error (reported on
 * stderr: 1, so whatever supervises the process starts it again).
 */
export async function untilStopped(
  node: { stop(): Promise<void> },
  id: string,
  died: Promise<Error>,
  signalled: Promise<NodeJS.Signals>,
  write: (line: string) => void,
): Promise<number> {
  const outcome = await Promise.race([signalled, died]);
  if (outcome instanceof Error) {
    process.stderr.write(`pureraft node ${id}: stopped after a fatal error: ${outcome.message}\n`);
    return 1;
  }
  write(`${outcome}: stopping`);
  // The same signal again while stopping means "now" (Ctrl-C twice). A different one does not: under
  // `pureraft cluster` a Ctrl-C reaches the node from the terminal and then SIGTERM from its parent.
  process.once(outcome, () => process.exit(130));
  await node.stop();
  return 0;
}
