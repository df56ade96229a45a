/**
 * A node's trace: everything needed to replay its run through the pure reducer. JSON lines:
 *
 *   {"type":"start","version":1,"config":{...},"durable":{...},"digest":"..."}   the config and loaded state
 *   {"type":"event","event":{...},"digest":"..."}                                each stepped event, in order
 *
 * `digest` fingerprints what the transition produced (the node's status and its effects), so a replay can
 * tell whether it reproduced the run bit for bit. Commands must survive JSON (plain data), and the config must
 * have no custom `commandSize`: a function cannot be recorded, and a replay would measure sizes differently.
 */
import { createHash } from 'node:crypto';
import { writeSync } from 'node:fs';
import { type FileHandle, open, readFile } from 'node:fs/promises';
import {
  type Config,
  type Durable,
  type Effect,
  type Event,
  type RaftState,
  status,
} from '../../core/index.js';

export const TRACE_VERSION = 1;

export interface TraceStart<C> {
  readonly type: 'start';
  readonly version: number;
  readonly config: Config;
  readonly durable: Durable<C>;
  readonly digest: string;
}

export interface TraceEvent<C> {
  readonly type: 'event';
  readonly event: Event<C>;
  readonly digest: string;
}

export interface Trace<C> {
  readonly start: TraceStart<C>;
  readonly events: readonly TraceEvent<C>[];
  /** Set when the last line was cut short (the process died while writing it): it is left out. */
  readonly tornTail: boolean;
}

/** A fingerprint of a transition's outcome. */
export function transitionDigest<C>(state: RaftState<C>, effects: readonly Effect<C>[]): string {
  return createHash('sha256')
    .update(JSON.stringify([status(state), effects]))
    .digest('hex')
    .slice(0, 32);
}

/**
 * Appends a node's trace to a file as it runs. Each record is written before the transition's effects run, with
 * a synchronous write: it is in the operating system's hands before a message, a reply or an apply can leave
 * the process, so a kill -9 never loses a transition whose effects were seen outside (a checker that reads the
 * traces after a crash, such as `pureraft torture`'s "acknowledged writes applied", relies on it). A power loss
 * can still take the unsynced tail: the trace is a record for debugging and checking, not a durable log.
 */
export class TraceWriter<C> {
  readonly #handle: FileHandle;
  #failure: Error | null = null;

  /**
   * Creates the file, which must not exist yet, and rejects if it cannot: a trace asked for and not
   * recorded would be found missing only when it is needed.
   */
  static async create<C>(path: string): Promise<TraceWriter<C>> {
    return new TraceWriter<C>(path, await open(path, 'wx'));
  }

  private constructor(
    readonly path: string,
    handle: FileHandle,
  ) {
    this.#handle = handle;
  }

  start(config: Config, durable: Durable<C>, initial: readonly [RaftState<C>, readonly Effect<C>[]]): void {
    if (config.commandSize !== undefined) {
      throw new Error('a trace cannot record a config with a custom commandSize (a function)');
    }
    const digest = transitionDigest(...initial);
    this.#write({ type: 'start', version: TRACE_VERSION, config, durable, digest } satisfies TraceStart<C>);
  }

  event(event: Event<C>, state: RaftState<C>, effects: readonly Effect<C>[]): void {
    this.#write({ type: 'event', event, digest: transitionDigest(state, effects) } satisfies TraceEvent<C>);
  }

  /** Closes the file; rejects if any write failed. */
  async close(): Promise<void> {
    await this.#handle.close();
    if (this.#failure !== null) throw new Error(`trace ${this.path}: ${this.#failure.message}`);
  }

  #write(record: TraceStart<C> | TraceEvent<C>): void {
    // Once the file is open, a trace is a debugging aid: a failed write stops the trace and is reported when
    // closing, never fatal to the node. After a failure nothing more is written: a gap would replay wrongly.
    if (this.#failure !== null) return;
    const bytes = Buffer.from(`${JSON.stringify(record)}\n`);
    try {
      for (let written = 0; written < bytes.length; ) {
        written += writeSync(this.#handle.fd, bytes, written, bytes.length - written);
      }
    } catch (error) {
      this.#failure = error as Error;
    }
  }
}

export class TraceFormatError extends Error {
  override readonly name = 'TraceFormatError';
}

export async function readTrace<C>(path: string): Promise<Trace<C>> {
  return parseTrace(await readFile(path, 'utf8'), path);
}

/** Parses a trace's text; `source` names it in errors. */
export function parseTrace<C>(text: string, source: string): Trace<C> {
  const lines = text.split('\n');
  const endsCleanly = lines.at(-1) === '';
  if (endsCleanly) lines.pop();
  const records: unknown[] = [];
  let tornTail = false;
  for (const [number, line] of lines.entries()) {
    try {
      records.push(JSON.parse(line));
    } catch {
      // Only the last line can be half-written by a crash; anything else is a damaged file.
      if (number === lines.length - 1 && !endsCleanly) {
        tornTail = true;
        break;
      }
      throw new TraceFormatError(`${source}:${number + 1}: not a JSON line`);
    }
  }
  const [start, ...events] = records;
  if (!isRecord(start, 'start'))
    throw new TraceFormatError(`${source}:1: the first line must be the start record`);
  if (start.version !== TRACE_VERSION) {
    throw new TraceFormatError(
      `${source}: trace version ${String(start.version)}, expected ${TRACE_VERSION}`,
    );
  }
  events.forEach((record, position) => {
    if (!isRecord(record, 'event'))
      throw new TraceFormatError(`${source}:${position + 2}: not an event record`);
  });
  return {
    start: start as unknown as TraceStart<C>,
    events: events as TraceEvent<C>[],
    tornTail,
  };
}

/** A shallow shape check: the reducer validates the rest (config, durable state) and says what is wrong. */
function isRecord(value: unknown, type: 'start' | 'event'): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  if (record.type !== type || typeof record.digest !== 'string') return false;
  return type === 'start'
    ? typeof record.config === 'object' && typeof record.durable === 'object'
    : typeof record.event === 'object' && record.event !== null;
}
