/**
 * A node's configuration from its three sources, flags over the JSON config file over the environment. The
 * config file has the same fields as the flags:
 *
 *   {
 *     "id": "n1",
 *     "raft": "10.0.0.1:7001",                  where this node listens for its peers
 *     "http": "10.0.0.1:8001",                  where it serves the HTTP API
 *     "peers": { "n2": { "raft": "10.0.0.2:7001", "http": "10.0.0.2:8001" }, ... },
 *     "routes": { "n2": "192.168.0.2:7001" },    optional: dial n2's Raft port there, whatever the address book says
 *                                               ("192.168.0.2:7001,192.168.0.2:8001": its HTTP API too)
 *     "dataDir": "/var/lib/pureraft",           default ./.data/<id>
 *     "secret": "...",                          or the PURERAFT_SECRET environment variable
 *     "electionTimeout": 400,                   ms; the timeout is drawn from [it, 2 × it)
 *     "heartbeat": 100,                         ms
 *     "leaseReads": false,                      lease reads (every member must agree; see the README)
 *     "trace": "/tmp/n1.trace",                 optional: record the run for `pureraft replay`
 *     "snapshotEntries": 10000,                 optional: the snapshot policy (snapshot-flags.ts)
 *     "snapshotBytes": 4194304,
 *     "snapshots": false                        never take snapshots
 *     "tlsDir": "/etc/pureraft/certs",          mutual TLS and HTTPS: ca.pem, <id>.pem, <id>-key.pem
 *     "cert": "...", "key": "...", "ca": "...", or each file on its own (overrides tlsDir's)
 *     "tokens": "/etc/pureraft/tokens",         API bearer tokens (api-auth.ts)
 *     "openStatus": false,                      /status and /metrics without a token
 *     "insecure": false                         allow an API beyond loopback without tokens or HTTPS
 *   }
 */
import { resolve } from 'node:path';
import { LEASE_CLOCK_DRIFT, leaseDurationOf, type NodeId } from '../core/index.js';
import { checkNodeId } from '../effects/transport/index.js';
import {
  type Address,
  DEFAULT_ELECTION_TIMEOUT,
  DEFAULT_HEARTBEAT_INTERVAL,
  type KvNodeConfig,
  type Member,
  parseHostPort,
  whyBadAddress,
} from '../kv/index.js';
import { certificateFiles } from './dev-certs.js';
import { type SnapshotSettings, SnapshotSettingsError, snapshotPolicyOf } from './snapshot-flags.js';

export const SECRET_ENV = 'PURERAFT_SECRET';

/** A configuration mistake, named precisely enough to fix. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The settings before defaults, as they come from flags or a config file. */
interface CommonSettings extends SnapshotSettings {
  readonly id?: string;
  readonly raft?: string;
  readonly http?: string;
  readonly dataDir?: string;
  readonly secret?: string;
  readonly electionTimeout?: number;
  readonly heartbeat?: number;
  readonly leaseReads?: boolean;
  readonly trace?: string;
  readonly tlsDir?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly ca?: string;
  readonly tokens?: string;
  readonly openStatus?: boolean;
  readonly insecure?: boolean;
}

export interface FlagSettings extends CommonSettings {
  /** `id=raftHost:raftPort,httpHost:httpPort` each. */
  readonly peer?: readonly string[];
  /** `id=raftHost:raftPort` or `id=raftHost:raftPort,httpHost:httpPort` each. */
  readonly route?: readonly string[];
}

export interface FileSettings extends CommonSettings {
  readonly peers?: Readonly<Record<string, { readonly raft: string; readonly http: string }>>;
  readonly routes?: Readonly<Record<string, string>>;
}

/** `host:port` or `[v6 host]:port`. */
export function parseAddress(text: string, what: string): Address {
  const address = parseHostPort(text);
  if (address === undefined) throw new ConfigError(whyBadAddress(text, what)!);
  return address;
}

/** `id=raftHost:raftPort,httpHost:httpPort`. */
export function parsePeer(text: string): [NodeId, Member] {
  const match = /^([^=]+)=([^,]+),([^,]+)$/.exec(text);
  if (match === null) {
    throw new ConfigError(
      `a peer must be id=raftHost:raftPort,httpHost:httpPort, got ${JSON.stringify(text)}`,
    );
  }
  const [, id, raft, http] = match as unknown as [string, string, string, string];
  return [
    id,
    {
      raft: parseAddress(raft, `peer ${id}'s raft address`),
      http: parseAddress(http, `peer ${id}'s http address`),
    },
  ];
}

/** Peers from --peer flags if any, else from the config file (whose JSON is checked here, field by field). */
function peersOf(flags: FlagSettings, file: FileSettings): Record<NodeId, Member> {
  if (flags.peer !== undefined && flags.peer.length > 0)
    return uniqueIds(flags.peer.map(parsePeer), '--peer');
  return Object.fromEntries(
    Object.entries(file.peers ?? {}).map(([id, member]: [string, unknown]) => {
      const { raft, http } = (typeof member === 'object' && member !== null ? member : {}) as Record<
        string,
        unknown
      >;
      if (typeof raft !== 'string' || typeof http !== 'string')
        throw new ConfigError(`peer ${id} must be {"raft": "host:port", "http": "host:port"}`);
      return [
        id,
        {
          raft: parseAddress(raft, `peer ${id}'s raft address`),
          http: parseAddress(http, `peer ${id}'s http address`),
        },
      ];
    }),
  );
}

/** The pairs as a record; a node given twice is a mistake (the last one silently won). */
function uniqueIds<T>(pairs: readonly (readonly [NodeId, T])[], flag: string): Record<NodeId, T> {
  const seen = new Set<NodeId>();
  for (const [id] of pairs) {
    if (seen.has(id)) throw new ConfigError(`${flag} names ${id} twice`);
    seen.add(id);
  }
  // fromEntries, not assignment: `record.__proto__ = …` would set a prototype, and the name would vanish unchecked.
  return Object.fromEntries(pairs);
}

/** Where this node dials one member: its Raft port, and its HTTP API when given. */
export interface Route {
  readonly raft: Address;
  readonly http?: Address;
}

/** `id=raftHost:raftPort` or `id=raftHost:raftPort,httpHost:httpPort`. */
export function parseRoute(text: string): [NodeId, Route] {
  const match = /^([^=,]+)=([^,]+)(?:,([^,]+))?$/.exec(text);
  if (match === null)
    throw new ConfigError(
      `a route must be id=raftHost:raftPort or id=raftHost:raftPort,httpHost:httpPort, got ${JSON.stringify(text)}`,
    );
  return routeTo(match[1]!, match[2]!, match[3]);
}

function routeTo(id: NodeId, raft: string, http: string | undefined): [NodeId, Route] {
  const route = { raft: parseAddress(raft, `the route to ${id}`) };
  return [id, http === undefined ? route : { ...route, http: parseAddress(http, `the HTTP route to ${id}`) }];
}

/** Routes from --route flags if any, else from the config file: for Raft, and for HTTP where given. */
function routesOf(
  flags: FlagSettings,
  file: FileSettings,
): { routes: Record<NodeId, Address>; httpRoutes: Record<NodeId, Address> } {
  const given =
    flags.route !== undefined && flags.route.length > 0
      ? Object.entries(uniqueIds(flags.route.map(parseRoute), '--route'))
      : Object.entries(file.routes ?? {}).map(([id, text]: [string, unknown]) => {
          if (typeof text !== 'string')
            throw new ConfigError(`route ${id} must be "host:port" or "host:port,host:port"`);
          const [raft, http, ...more] = text.split(',');
          if (more.length > 0)
            throw new ConfigError(`route ${id} must be "host:port" or "host:port,host:port"`);
          return routeTo(id, raft!, http);
        });
  return {
    routes: Object.fromEntries(given.map(([id, route]) => [id, route.raft])),
    httpRoutes: Object.fromEntries(
      given.flatMap(([id, route]) => (route.http === undefined ? [] : [[id, route.http]])),
    ),
  };
}

/**
 * A duration in milliseconds. At most a day: an election timeout is drawn up to twice its value, and a timer
 * of 2³¹ ms or more fires at once in Node (a TimeoutOverflowWarning, and elections every millisecond).
 */
function positive(value: number | undefined, what: string): number | undefined {
  if (value !== undefined && !(Number.isSafeInteger(value) && value > 0 && value <= MAX_DURATION_MS)) {
    throw new ConfigError(
      `${what} must be a positive integer of milliseconds, at most ${MAX_DURATION_MS} (a day), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

const MAX_DURATION_MS = 24 * 60 * 60 * 1000;

/** Reads a config file's JSON into settings, checking the type of each field it knows and refusing others. */
export function settingsFromJson(text: string, source: string): FileSettings {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${source}: not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ConfigError(`${source}: must be a JSON object`);
  const types: Readonly<Record<string, string>> = {
    id: 'string',
    raft: 'string',
    http: 'string',
    peers: 'object',
    routes: 'object',
    dataDir: 'string',
    secret: 'string',
    electionTimeout: 'number',
    heartbeat: 'number',
    leaseReads: 'boolean',
    trace: 'string',
    snapshotEntries: 'number',
    snapshotBytes: 'number',
    snapshots: 'boolean',
    tlsDir: 'string',
    cert: 'string',
    key: 'string',
    ca: 'string',
    tokens: 'string',
    openStatus: 'boolean',
    insecure: 'boolean',
  };
  for (const [field, value] of Object.entries(parsed)) {
    const type = types[field];
    if (type === undefined) throw new ConfigError(`${source}: unknown field ${JSON.stringify(field)}`);
    // An array is an object too: "peers": [...] made peers named "0" and "1".
    if (typeof value !== type || value === null || Array.isArray(value))
      throw new ConfigError(`${source}: ${field} must be a ${type === 'object' ? 'JSON object' : type}`);
  }
  return parsed as FileSettings;
}

/**
 * Throws ConfigError unless a leader's heartbeats can keep its followers from elections: the heartbeat interval
 * below the (lowest) election timeout, and, with lease reads, a lease left after the clock drift allowed.
 */
export function checkTimings(electionTimeout: number, heartbeat: number, leaseReads: boolean): void {
  if (heartbeat >= electionTimeout) {
    throw new ConfigError(
      `the heartbeat interval (${heartbeat} ms) must be below the election timeout (${electionTimeout} ms)`,
    );
  }
  if (leaseReads && !(leaseDurationOf(electionTimeout, heartbeat) > 0)) {
    throw new ConfigError(
      `lease reads need a lease: the election timeout (${electionTimeout} ms) less ${100 * LEASE_CLOCK_DRIFT}% must exceed the heartbeat interval (${heartbeat} ms)`,
    );
  }
}

/** The node's config: `flags` win over `file`, and the secret may come from the environment. */
export function resolveNodeConfig(
  flags: FlagSettings,
  file: FileSettings,
  env: NodeJS.ProcessEnv,
): KvNodeConfig {
  const pick = <K extends keyof CommonSettings>(key: K): CommonSettings[K] => flags[key] ?? file[key];
  const id = pick('id');
  if (id === undefined)
    throw new ConfigError('missing the node id: pass --id or put "id" in the config file');
  const idProblem = checkNodeId(id);
  if (idProblem !== undefined) throw new ConfigError(`bad node id: ${idProblem}`);
  const raft = pick('raft');
  const http = pick('http');
  if (raft === undefined || http === undefined) {
    throw new ConfigError(
      'missing an address: pass --raft host:port and --http host:port (or set them in the config file)',
    );
  }
  const tls = tlsFilesOf(pick, id);
  const secret = pick('secret') ?? env[SECRET_ENV];
  if (tls === undefined && (secret === undefined || secret.length === 0)) {
    throw new ConfigError(
      `missing the cluster secret: pass --secret, set ${SECRET_ENV}, or put "secret" in the config file ` +
        '(or give certificates: --tls-dir, or --cert, --key and --ca)',
    );
  }
  const tokens = pick('tokens');
  const openStatus = pick('openStatus') === true;
  if (openStatus && tokens === undefined) throw new ConfigError('--open-status goes with --tokens');
  const peers = peersOf(flags, file);
  if (Object.hasOwn(peers, id)) throw new ConfigError(`node ${id} lists itself as a peer`);
  const { routes, httpRoutes } = routesOf(flags, file);
  if (id in routes) throw new ConfigError(`node ${id} has a route to itself`);
  for (const peer of [...Object.keys(peers), ...Object.keys(routes)]) {
    const problem = checkNodeId(peer);
    if (problem !== undefined) throw new ConfigError(`bad peer id ${JSON.stringify(peer)}: ${problem}`);
  }
  const electionTimeout = positive(pick('electionTimeout'), 'the election timeout');
  const heartbeat = positive(pick('heartbeat'), 'the heartbeat interval') ?? DEFAULT_HEARTBEAT_INTERVAL;
  const timeout: readonly [number, number] =
    electionTimeout === undefined ? DEFAULT_ELECTION_TIMEOUT : [electionTimeout, 2 * electionTimeout];
  const leaseReads = pick('leaseReads') === true;
  checkTimings(timeout[0], heartbeat, leaseReads);
  const trace = pick('trace');
  const snapshotPolicy = snapshotPolicyIn({
    snapshotEntries: pick('snapshotEntries'),
    snapshotBytes: pick('snapshotBytes'),
    snapshots: pick('snapshots'),
  });
  const httpAddress = parseAddress(http, 'the http address');
  checkExposure(httpAddress, tls !== undefined, tokens !== undefined, pick('insecure') === true);
  return {
    id,
    raft: parseAddress(raft, 'the raft address'),
    http: httpAddress,
    peers,
    ...(Object.keys(routes).length > 0 && { routes }),
    ...(Object.keys(httpRoutes).length > 0 && { httpRoutes }),
    dataDir: resolve(pick('dataDir') ?? `.data/${id}`),
    ...(tls === undefined ? { secret: secret! } : { tls }),
    electionTimeout: timeout,
    heartbeatInterval: heartbeat,
    ...(leaseReads && { leaseReads }),
    ...(trace !== undefined && { tracePath: resolve(trace) }),
    ...(snapshotPolicy !== undefined && { snapshotPolicy }),
    ...(tokens !== undefined && { tokensFile: resolve(tokens) }),
    ...(openStatus && { openStatus }),
  };
}

function snapshotPolicyIn(settings: SnapshotSettings): ReturnType<typeof snapshotPolicyOf> {
  try {
    return snapshotPolicyOf(settings);
  } catch (error) {
    if (error instanceof SnapshotSettingsError) throw new ConfigError(error.message);
    throw error;
  }
}

/** The certificate files: --cert, --key and --ca, each defaulting to its file in --tls-dir. */
function tlsFilesOf(
  pick: <K extends keyof CommonSettings>(key: K) => CommonSettings[K],
  id: string,
): KvNodeConfig['tls'] {
  const dir = pick('tlsDir');
  const inDir = dir === undefined ? undefined : certificateFiles(dir, id);
  const [cert, key, ca] = [pick('cert') ?? inDir?.cert, pick('key') ?? inDir?.key, pick('ca') ?? inDir?.ca];
  if (cert === undefined && key === undefined && ca === undefined) return undefined;
  if (cert === undefined || key === undefined || ca === undefined)
    throw new ConfigError('give --cert, --key and --ca together, or --tls-dir');
  return { cert: resolve(cert), key: resolve(key), ca: resolve(ca) };
}

/** Whether `host` is reachable from this machine only. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * An API beyond loopback must know its clients (tokens) and keep their tokens from the network (HTTPS),
 * unless the operator says otherwise.
 */
function checkExposure(http: Address, https: boolean, tokens: boolean, insecure: boolean): void {
  if (insecure || isLoopback(http.host)) return;
  const missing = [...(tokens ? [] : ['--tokens']), ...(https ? [] : ['certificates (--tls-dir)'])];
  if (missing.length === 0) return;
  throw new ConfigError(
    `the HTTP API on ${http.host} is reachable beyond this machine: give it ${missing.join(' and ')}, ` +
      'or pass --insecure to serve it to anyone who can reach it',
  );
}
