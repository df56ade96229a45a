/**
 * Starts `pureraft node` as a child process: for `pureraft cluster`, the cluster tests and the benchmark. The
 * child runs the same CLI entry as this process, through tsx when running from TypeScript sources.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatAddress, type KvNodeConfig } from '../kv/index.js';
import { SECRET_ENV } from './node-config.js';

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
  if (config.tracePath !== undefined) flags.push('--trace', config.tracePath);
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
  ) {
    this.child = spawn(process.execPath, [...loaderArgs(), cliEntry, 'node', ...nodeFlags(config)], {
      env: { ...process.env, [SECRET_ENV]: config.secret },
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
    return `http://${formatAddress(this.config.http)}`;
  }

  /** Resolves once the node answers GET /status; rejects if it exits first or `timeoutMs` passes. */
  async serving(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.running) {
      try {
        const response = await fetch(`${this.httpUrl}/status`, { signal: AbortSignal.timeout(1_000) });
        await response.body?.cancel();
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
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
