/** `pureraft cluster`: a local cluster of node processes on one machine, until Ctrl-C. */
import { randomBytes } from 'node:crypto';
import { access, mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, relative, resolve } from 'node:path';
import {
  clusterConfigs,
  DEFAULT_ELECTION_TIMEOUT,
  DEFAULT_HEARTBEAT_INTERVAL,
  formatAddress,
  type KvNodeConfig,
} from '../kv/index.js';
import { startVizServer } from '../viz/server.js';
import { certificateFiles, makeDevCertificates } from './dev-certs.js';
import { type CommandSpec, defineCommand, type Flag, type FlagValues, UsageError } from './flags.js';
import { heapGrowthFlag, heapGrowthPercent } from './heap-growth.js';
import { NodeProcess, RestartBackoff } from './launcher.js';
import { ConfigError, checkTimings, SECRET_ENV } from './node-config.js';
import {
  SnapshotSettingsError,
  snapshotFlags,
  snapshotPolicyOf,
  snapshotSettingsOf,
} from './snapshot-flags.js';

const spec = {
  name: 'cluster',
  summary: 'start a local cluster of nodes, each its own process (what `npm start` runs)',
  synopsis: '[flags]',
  details: `
Starts a cluster of --nodes nodes as child processes on one host, numbered n1, n2, ...: node i takes Raft
port raft-port + i - 1 and HTTP port http-port + i - 1, and keeps its log in <data-dir>/n<i>, so a restart
finds its data again. The cluster secret is --secret, else ${SECRET_ENV}, else a random one for this run.
A node that dies (try kill -9 on the pid the banner shows) is started again after --restart-after ms, from
its own data; one that keeps dying soon after it starts waits twice as long each time, up to 60 s. A node
stopped with kill <pid> (SIGTERM) hands leadership over first if it leads, and is started
again the same way: kill the nodes one after another for a rolling restart. Ctrl-C stops every node at once
(the terminal's SIGINT reaches each of them; a leader's attempt to hand over to a node that is itself stopping
ends within an election timeout). Ctrl-C again, a second or more later, kills every node at once.

With --tls-dir the nodes authenticate each other with mutual TLS and serve HTTPS, with the certificates in
that directory (those missing are made, as \`pureraft certs\` does). With --tokens clients must present a bearer
token (see \`pureraft node --help\`).`,
  positionals: 0,
  flags: {
    nodes: { type: 'integer', description: 'How many nodes. Default 3.' },
    host: {
      type: 'string',
      placeholder: 'host',
      description: 'Where every node listens. Default 127.0.0.1.',
    },
    'raft-port': {
      type: 'integer',
      placeholder: 'port',
      description: "The first node's Raft port. Default 7001.",
    },
    'http-port': {
      type: 'integer',
      placeholder: 'port',
      description: "The first node's HTTP port. Default 8001.",
    },
    'data-dir': {
      type: 'string',
      placeholder: 'dir',
      description: 'Where the nodes keep their logs. Default ./.data.',
    },
    secret: { type: 'string', placeholder: 'secret', description: "The cluster's shared secret." },
    'election-timeout': {
      type: 'integer',
      placeholder: 'ms',
      description: 'Passed to every node. Default 400.',
    },
    heartbeat: { type: 'integer', placeholder: 'ms', description: 'Passed to every node. Default 100.' },
    'lease-reads': {
      type: 'boolean',
      description:
        'Lease reads on every node: the leader answers linearizable reads without a round while its lease holds.',
    },
    'restart-after': {
      type: 'integer',
      placeholder: 'ms',
      description:
        'Restart a node that died after this long, doubled for each exit in a row within 30 s of its start (at most 60 s); 0 leaves it down. Default 3000.',
    },
    'trace-dir': {
      type: 'string',
      placeholder: 'dir',
      description: 'Record each node’s run to <dir>/<id>-<time>.trace, for `pureraft replay`.',
    },
    ...snapshotFlags,
    ...heapGrowthFlag,
    viz: {
      type: 'boolean',
      description:
        'Also serve the visualizer, showing this cluster live (traces in --trace-dir, default <data-dir>/traces).',
    },
    'tls-dir': {
      type: 'string',
      placeholder: 'dir',
      description: 'Mutual TLS and HTTPS, with the CA and node certificates there (made if missing).',
    },
    tokens: {
      type: 'string',
      placeholder: 'file',
      description: 'API bearer tokens, a "<read-only|read-write> <token>" per line.',
    },
    'open-status': { type: 'boolean', description: 'Serve /status and /metrics without a token.' },
    insecure: { type: 'boolean', description: 'Allow an API beyond loopback without tokens or HTTPS.' },
  },
} as const satisfies CommandSpec<Readonly<Record<string, Flag>>>;

export const clusterCommand = defineCommand(spec, run);

type ClusterFlags = FlagValues<typeof spec.flags>;

const MAX_NODES = 15;

/**
 * A second SIGINT or SIGTERM this soon after the first is the same Ctrl-C again: under `npm start` it reaches
 * this process from the terminal and once more through npm. Its default action killed this process before its
 * nodes had stopped, and a leader handing over then crashed writing its log to the closed pipe, leaving its LOCK
 * behind. A later one is Ctrl-C pressed again: stop now. (`npm start` runs `node --import tsx`, not the tsx
 * command: that one passes a signal on and kills its child with SIGKILL unless it exits within some 50 ms.)
 */
const REPEAT_IGNORED_MS = 1_000;

function checkPort(name: string, first: number, count: number, usage: string): void {
  if (!(first >= 1 && first + count - 1 <= 65_535)) {
    throw new UsageError(
      `--${name} ${first}: the ports ${first}..${first + count - 1} must lie in 1..65535`,
      usage,
    );
  }
}

async function portIsFree(host: string, port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** The configs of the cluster's nodes, from the flags. */
function configsFromFlags(flags: ClusterFlags, env: NodeJS.ProcessEnv, usage: string): KvNodeConfig[] {
  const count = flags.nodes ?? 3;
  if (count < 1 || count > MAX_NODES)
    throw new UsageError(`--nodes must be from 1 to ${MAX_NODES}, got ${count}`, usage);
  const host = flags.host ?? '127.0.0.1';
  const raftPort = flags['raft-port'] ?? 7001;
  const httpPort = flags['http-port'] ?? 8001;
  checkPort('raft-port', raftPort, count, usage);
  checkPort('http-port', httpPort, count, usage);
  if (Math.abs(raftPort - httpPort) < count)
    throw new UsageError('the Raft and HTTP port ranges overlap', usage);
  const tlsDir = flags['tls-dir'] === undefined ? undefined : resolve(flags['tls-dir']);
  const secret = flags.secret ?? env[SECRET_ENV] ?? randomBytes(16).toString('hex');
  const dataDir = resolve(flags['data-dir'] ?? '.data');
  if (flags['open-status'] === true && flags.tokens === undefined)
    throw new UsageError('--open-status goes with --tokens', usage);
  // A negative delay restarted a dying node in a tight loop.
  if (flags['restart-after'] !== undefined && flags['restart-after'] < 0)
    throw new UsageError(`--restart-after must be 0 (never) or more, got ${flags['restart-after']}`, usage);
  const electionTimeout = flags['election-timeout'];
  try {
    checkTimings(
      electionTimeout ?? DEFAULT_ELECTION_TIMEOUT[0],
      flags.heartbeat ?? DEFAULT_HEARTBEAT_INTERVAL,
      flags['lease-reads'] === true,
    );
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message, usage);
    throw error;
  }
  const snapshotPolicy = snapshotPolicyFromFlags(flags, usage);
  const members = Array.from({ length: count }, (_, i) => ({
    id: `n${i + 1}`,
    raft: { host, port: raftPort + i },
    http: { host, port: httpPort + i },
  }));
  const configs = clusterConfigs(members, dataDir, {
    ...(tlsDir === undefined && { secret }),
    ...(electionTimeout !== undefined && {
      electionTimeout: [electionTimeout, 2 * electionTimeout] as const,
    }),
    ...(flags.heartbeat !== undefined && { heartbeatInterval: flags.heartbeat }),
    ...(flags['lease-reads'] === true && { leaseReads: true }),
    ...(snapshotPolicy !== undefined && { snapshotPolicy }),
    ...(flags.tokens !== undefined && { tokensFile: resolve(flags.tokens) }),
    ...(flags['open-status'] === true && { openStatus: true }),
  });
  return tlsDir === undefined
    ? configs
    : configs.map((config) => ({ ...config, tls: certificateFiles(tlsDir, config.id) }));
}

/** Makes the certificates of the nodes that have none in `dir` (and the CA, if it has none either). */
async function ensureCertificates(dir: string, configs: readonly KvNodeConfig[]): Promise<string[]> {
  const missing: string[] = [];
  for (const { id } of configs) {
    const exists = await access(certificateFiles(dir, id).cert).then(
      () => true,
      () => false,
    );
    if (!exists) missing.push(id);
  }
  if (missing.length > 0) await makeDevCertificates({ dir, nodes: missing });
  return missing;
}

function snapshotPolicyFromFlags(flags: ClusterFlags, usage: string): ReturnType<typeof snapshotPolicyOf> {
  try {
    return snapshotPolicyOf(snapshotSettingsOf(flags));
  } catch (error) {
    if (error instanceof SnapshotSettingsError) throw new UsageError(error.message, usage);
    throw error;
  }
}

/** A node's config for one incarnation: with --trace-dir, a trace file of its own, named by its start time. */
function incarnation(config: KvNodeConfig, traceDir: string | undefined): KvNodeConfig {
  if (traceDir === undefined) return config;
  const startedAt = new Date().toISOString().replace(/[:.]/g, '-');
  return { ...config, tracePath: resolve(traceDir, `${config.id}-${startedAt}.trace`) };
}

async function run(flags: ClusterFlags, _positionals: readonly string[], usage: string): Promise<number> {
  const configs = configsFromFlags(flags, process.env, usage);
  const heapGrowth = heapGrowthPercent(flags['heap-growth'], usage);
  for (const { raft, http } of configs) {
    for (const address of [raft, http]) {
      if (!(await portIsFree(address.host, address.port))) {
        throw new UsageError(
          `${formatAddress(address)} is in use (another cluster running?); pick other ports with --raft-port and --http-port`,
          usage,
        );
      }
    }
  }
  // The visualizer follows the cluster through its traces.
  const traceDir =
    flags['trace-dir'] ?? (flags.viz === true ? join(flags['data-dir'] ?? '.data', 'traces') : undefined);
  if (traceDir !== undefined) await mkdir(resolve(traceDir), { recursive: true });
  if (flags['tls-dir'] !== undefined) {
    const made = await ensureCertificates(resolve(flags['tls-dir']), configs);
    if (made.length > 0)
      process.stdout.write(
        `made certificates for ${made.join(', ')} in ${shortPath(resolve(flags['tls-dir']))}\n`,
      );
  }
  const log = (id: string) => (line: string) => process.stdout.write(`[${id}] ${line}\n`);
  const extraFlags = flags.insecure === true ? ['--insecure'] : [];
  if (flags['heap-growth'] !== undefined) extraFlags.push('--heap-growth', String(heapGrowth));
  const launch = (config: KvNodeConfig) =>
    new NodeProcess(incarnation(config, traceDir), log(config.id), { extraFlags });
  const nodes = configs.map(launch);
  const restartAfterMs = flags['restart-after'] ?? 3000;
  const backoffs = nodes.map(() => new RestartBackoff(restartAfterMs));
  let stopping = false;
  const restarts = new Set<NodeJS.Timeout>();
  // A node that dies unexpectedly comes back from its own data, as a crashed server would; one that keeps
  // dying soon after it starts comes back ever more slowly.
  const supervise = (position: number): void => {
    const node = nodes[position]!;
    void node.exited.then(({ code, signal }) => {
      if (stopping) return;
      const { id } = node.config;
      const { delayMs, quickExits } = backoffs[position]!.next(Date.now() - node.startedAt);
      const inARow = quickExits > 1 ? `, ${quickExits} exits in a row soon after starting` : '';
      const again = restartAfterMs > 0 ? `; restarting in ${delayMs} ms${inARow}` : '';
      // Code 0 is a node stopped on purpose (kill <pid>: it handed leadership over first); anything else, a crash.
      const how =
        code === 0 ? 'stopped (exit code 0)' : `exited unexpectedly (code ${code}, signal ${signal})`;
      process.stdout.write(`[${id}] ${how}${again}\n`);
      if (restartAfterMs === 0) return;
      const timer = setTimeout(() => {
        restarts.delete(timer);
        if (stopping) return;
        nodes[position] = launch(configs[position]!);
        process.stdout.write(`[${id}] restarted as pid ${nodes[position]!.child.pid}\n`);
        supervise(position);
      }, delayMs);
      restarts.add(timer);
    });
  };
  for (let position = 0; position < nodes.length; position++) supervise(position);
  const stopAll = async () => {
    stopping = true;
    for (const timer of restarts) clearTimeout(timer);
    const exits = await Promise.all(nodes.map((node) => node.kill('SIGTERM')));
    const unclean = exits.flatMap(({ code, signal }, position) =>
      code === 0 ? [] : [`${nodes[position]!.config.id} (code ${code}, signal ${signal})`],
    );
    process.stdout.write(
      unclean.length === 0
        ? 'every node stopped (exit code 0)\n'
        : `stopped; not cleanly: ${unclean.join(', ')}\n`,
    );
  };
  const interrupted = new Promise<void>((resolve) => {
    let firstAt: number | undefined;
    const onSignal = () => {
      if (firstAt === undefined) {
        firstAt = Date.now();
        resolve();
      } else if (Date.now() - firstAt >= REPEAT_IGNORED_MS) {
        // Ctrl-C again: now. The nodes' data stays as a crash leaves it, which they recover from.
        process.stdout.write('stopping now: killing every node\n');
        for (const node of nodes) node.child.kill('SIGKILL');
        process.exit(130);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  try {
    await Promise.race([Promise.all(nodes.map((node) => node.serving())), interrupted]);
  } catch (error) {
    process.stderr.write(`pureraft cluster: ${(error as Error).message}\n`);
    await stopAll();
    return 1;
  }
  if (!stopping) printBanner(nodes);
  const viz =
    flags.viz === true && traceDir !== undefined && !stopping
      ? await startVizServer({
          live: {
            traceDir: resolve(traceDir),
            nodes: configs.map((config) => ({ id: config.id, url: `http://${formatAddress(config.http)}` })),
          },
        })
      : undefined;
  if (viz !== undefined) process.stdout.write(`Watch it: ${viz.url}\n\n`);
  await interrupted;
  process.stdout.write('stopping every node...\n');
  await viz?.close();
  await stopAll();
  return 0;
}

/** Relative to the working directory when under it, else absolute. */
function shortPath(path: string): string {
  const fromHere = relative(process.cwd(), path);
  return fromHere.startsWith('..') ? path : fromHere;
}

function printBanner(nodes: readonly NodeProcess[]): void {
  const [first, second] = [nodes[0]!, nodes[1] ?? nodes[0]!];
  const { tls, tokensFile } = first.config;
  // What every curl line needs in this cluster's mode: the CA for HTTPS, a token when the API wants one.
  const curl = [
    'curl',
    ...(tls === undefined ? [] : [`--cacert ${shortPath(tls.ca)}`]),
    ...(tokensFile === undefined ? [] : ['-H "Authorization: Bearer $TOKEN"']),
  ].join(' ');
  // curl -L drops the token when a redirect changes the port; --location-trusted keeps it.
  const follow = tokensFile === undefined ? `${curl} -L` : `${curl} --location-trusted`;
  const tokenHint =
    tokensFile === undefined ? [] : [`(TOKEN: a read-write token from ${shortPath(tokensFile)})`];
  const rows = nodes.map(
    ({ config, httpUrl, child }) =>
      `  ${config.id}  ${httpUrl}   raft ${formatAddress(config.raft)}   data ${shortPath(config.dataDir)}   pid ${child.pid}`,
  );
  process.stdout.write(
    [
      '',
      `pureraft: ${nodes.length} nodes running`,
      ...rows,
      '',
      'Try (any node takes requests: a follower serves reads and redirects writes to the leader, which curl -L follows):',
      ...tokenHint,
      `  ${follow} -X PUT --data world ${first.httpUrl}/kv/hello`,
      `  ${follow} ${second.httpUrl}/kv/hello`,
      `  ${follow} -X POST --data '{"expect":"world","value":"there"}' ${first.httpUrl}/kv/hello`,
      `  ${follow} -X DELETE ${first.httpUrl}/kv/hello`,
      `  ${curl} ${second.httpUrl}/kv/hello?consistency=serializable   (this node's copy at once, maybe stale)`,
      `  ${follow} -X POST ${first.httpUrl}/admin/transfer-leadership   (or: pureraft transfer-leadership)`,
      `  ${curl} ${first.httpUrl}/status      ${curl} ${first.httpUrl}/metrics`,
      '',
      'kill -9 a pid above: the others elect a new leader if needed, and the node comes back from its log.',
      'kill a pid (SIGTERM): a leader hands leadership over first, so no election timeout passes without one.',
      'Ctrl-C stops every node.',
      '',
    ].join('\n'),
  );
}
