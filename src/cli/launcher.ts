/**
 * Starts `pureraft node` as a child process: for `pureraft cluster`, the cluster tests and the benchmark. The
 * child runs the same CLI entry as this process, through tsx when running from TypeScript sources.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatAddress, type KvNodeConfig } from '../kv/index.js';
import { SECRET_ENV } from './node-config.js';
import { snapshotPolicyFlags } from './snapshot-flags.js';

const fromSources = import.meta.url.endsWith('.ts');
const cliEntry = fileURLToPath(new URL(fromSources ? './main.ts' : './main.js', import.meta.url));

/** Node's own arguments for a child: the tsx loader when running from sources. */
function loaderArgs(): string[] {
  if (!fromSources) return [];
  return ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href];
}

/** The `pureraft node` flags for `config`; the secret travels in the environment, not on the command line. */
export function nodeFlags(config: KvNodeConfig): string[] {
  const flags = [
    '--id',
    config.id,
    '--raft',
    formatAddress(config.raft),
    '--http',
    formatAddress(config.http),
  ];
  for (const [id, member] of Object.entries(config.peers)) {
    flags.push('--peer', `${id}=${formatAddress(member.raft)},${formatAddress(member.http)}`);
  }
  for (const [id, raft] of Object.entries(config.routes ?? {})) {
    const http = config.httpRoutes?.[id];
    flags.push(
      '--route',
      `${id}=${formatAddress(raft)}${http === undefined ? '' : `,${formatAddress(http)}`}`,
    );
  }
  const unpassable = Object.keys(config.httpRoutes ?? {}).filter((id) => config.routes?.[id] === undefined);
  if (unpassable.length > 0)
    throw new RangeError(
      `node ${config.id}: an HTTP route needs a Raft route to the same member for \`pureraft node\`: ${unpassable.join(', ')}`,
    );
  flags.push('--data-dir', config.dataDir);
  if (config.electionTimeout !== undefined) {
    // `pureraft node` takes one number and draws the timeout from [it, 2 × it).
    const [low, high] = config.electionTimeout;
    if (high !== 2 * low) {
      throw new RangeError(
        `node ${config.id}: election timeout [${low}, ${high}] cannot be passed to \`pureraft node\`, which takes [x, 2x)`,
      );
    }
    flags.push('--election-timeout', String(low));
  }
  if (config.heartbeatInterval !== undefined) flags.push('--heartbeat', String(config.heartbeatInterval));
  if (config.leaseReads === true) flags.push('--lease-reads');
  if (config.tracePath !== undefined) flags.push('--trace', config.tracePath);
  flags.push(...snapshotPolicyFlags(config.snapshotPolicy));
  if (config.tls !== undefined)
    flags.push('--cert', config.tls.cert, '--key', config.tls.key, '--ca', config.tls.ca);
  if (config.tokensFile !== undefined) flags.push('--tokens', config.tokensFile);
  if (config.openStatus === true) flags.push('--open-status');
  return flags;
}

/** How many of its last stderr lines a NodeProcess keeps, for error messages. */
export const STDERR_LINES_KEPT = 200;

/** The last `limit` lines of a stream: a node that runs for days writes far more. */
export class LastLines {
  readonly #lines: string[] = [];
  #next = 0;

  constructor(readonly limit: number) {}

  push(line: string): void {
    if (this.#lines.length < this.limit) this.#lines.push(line);
    else this.#lines[this.#next] = line;
    this.#next = (this.#next + 1) % this.limit;
  }

  /** The lines kept, oldest first, each ending in a newline. */
  get text(): string {
    const lines =
      this.#lines.length < this.limit
        ? this.#lines
        : [...this.#lines.slice(this.#next), ...this.#lines.slice(0, this.#next)];
    return lines.map((line) => `${line}\n`).join('');
  }
}

/**
 * How long to wait before starting again a node that died: the base delay after a run that lasted, doubled for
 * each exit in a row that came soon after its start (a node that keeps failing, on a broken disk or a corrupt
 * log, is not restarted in a tight loop), up to `maxMs`. A run of `stableMs` or more starts the count afresh.
 */
export class RestartBackoff {
  #quickExits = 0;

  constructor(
    readonly baseMs: number,
    readonly maxMs = 60_000,
    readonly stableMs = 30_000,
  ) {}

  /** The delay before the next start, given how long the run that just ended lasted; and the exits in a row. */
  next(ranForMs: number): { delayMs: number; quickExits: number } {
    this.#quickExits = ranForMs >= this.stableMs ? 0 : this.#quickExits + 1;
    const doublings = Math.max(0, this.#quickExits - 1);
    return { delayMs: Math.min(this.maxMs, this.baseMs * 2 ** doublings), quickExits: this.#quickExits };
  }
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Test hooks: more of Node's own arguments (a preload that injects faults, say) and environment variables. */
export interface NodeProcessOptions {
  readonly nodeArgs?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** More flags for `pureraft node`. */
  readonly extraFlags?: readonly string[];
}

export class NodeProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  /** When it was started (ms since the epoch). */
  readonly startedAt = Date.now();
  readonly #stderr = new LastLines(STDERR_LINES_KEPT);

  /** `onLine` gets each line the node writes to stdout or stderr. */
  constructor(
    readonly config: KvNodeConfig,
    onLine: (line: string) => void = () => {},
    options: NodeProcessOptions = {},
  ) {
    const args = [
      ...loaderArgs(),
      ...(options.nodeArgs ?? []),
      cliEntry,
      'node',
      ...nodeFlags(config),
      ...(options.extraFlags ?? []),
    ];
    const { [SECRET_ENV]: _inherited, ...inherited } = process.env;
    const env = { ...inherited, ...options.env };
    this.child = spawn(process.execPath, args, {
      env: config.secret === undefined ? env : { ...env, [SECRET_ENV]: config.secret },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    createInterface({ input: this.child.stdout! }).on('line', onLine);
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      this.#stderr.push(line);
      onLine(line);
    });
  }

  /** The last lines (up to STDERR_LINES_KEPT) the node wrote to stderr, each ending in a newline. */
  get stderr(): string {
    return this.#stderr.text;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get httpUrl(): string {
    return `${this.config.tls === undefined ? 'http' : 'https'}://${formatAddress(this.config.http)}`;
  }

  /**
   * Resolves once the node answers GET /status (with any status: one that wants a token serves too); rejects
   * if it exits first or `timeoutMs` passes.
   */
  async serving(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const ca = this.config.tls === undefined ? undefined : readFileSync(this.config.tls.ca, 'utf8');
    while (this.running) {
      if (await answers(`${this.httpUrl}/status`, ca)) return;
      if (Date.now() > deadline)
        throw new Error(`node ${this.config.id} did not serve HTTP within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const { code, signal } = await this.exited;
    throw new Error(
      `node ${this.config.id} exited (code ${code}, signal ${signal}) before serving:\n${this.stderr}`,
    );
  }

  /** Sends `signal` (SIGTERM: a clean stop; SIGKILL: a crash) and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    if (this.running) this.child.kill(signal);
    return this.exited;
  }
}

/**
 * Whether an HTTP(S) server answers GET `url` within a second, trusting `ca` for HTTPS. Only whether it is up:
 * the host name is not checked (a node listening on 0.0.0.0 has no certificate for that name).
 */
function answers(url: string, ca: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const options = { ca, timeout: 1_000, checkServerIdentity: () => undefined };
    const request = get(url, options, (response) => {
      response.resume();
      resolve(response.statusCode !== undefined && response.statusCode < 500);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}
