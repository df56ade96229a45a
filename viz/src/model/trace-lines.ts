/**
 * Real nodes' trace files (JSON lines, src/runtime/node/trace.ts) read into a TraceMerger a slice of lines at a
 * time: a file of a hundred thousand events is read without stopping the page, and live mode feeds the same
 * reader a line at a time as nodes write them. (`parseTrace` reads a whole file at once, in a module that
 * needs Node; the checks here are its checks, line by line.)
 */
import type { TraceEvent, TraceStart } from '../../../src/runtime/node/trace.js';
import type { TraceMerger } from './node-traces.js';

/** The trace version src/runtime/node/trace.ts writes (its TRACE_VERSION; a test keeps them equal). */
export const READABLE_TRACE_VERSION = 1;

export class TraceLineError extends Error {
  override readonly name = 'TraceLineError';
}

type Record = TraceStart<unknown> | TraceEvent<unknown>;

function isObject(value: unknown): value is { [key: string]: unknown } {
  return typeof value === 'object' && value !== null;
}

/** The record a line holds, or why it is not one; `first` says whether it is a file's first line. */
function check(value: unknown, first: boolean): Record | string {
  if (!isObject(value) || typeof value.digest !== 'string') return 'not a trace record';
  if (first) {
    if (value.type !== 'start' || !isObject(value.config) || !isObject(value.durable)) {
      return 'the first line must be the start record';
    }
    if (value.version !== READABLE_TRACE_VERSION) {
      return `trace version ${String(value.version)}, expected ${READABLE_TRACE_VERSION}`;
    }
    return value as unknown as TraceStart<unknown>;
  }
  return value.type === 'event' && isObject(value.event)
    ? (value as unknown as TraceEvent<unknown>)
    : 'not an event record';
}

export class TraceLines {
  /** Lines read per file so far. */
  readonly #lines = new Map<string, number>();

  constructor(readonly merger: TraceMerger) {}

  /**
   * Whole lines of `file`, in order, from where the last call stopped; or, given `first` (the number of the
   * first of them), from there, skipping those already read (a live stream caught up again after a reconnect).
   * Throws TraceLineError on a bad line, or on lines that would leave a gap.
   */
  add(file: string, lines: readonly string[], first?: number): void {
    let number = this.#lines.get(file) ?? 0;
    if (first !== undefined) {
      if (first > number + 1) {
        throw new TraceLineError(`${file}: lines from ${first} arrived after line ${number}: a gap`);
      }
      lines = lines.slice(number + 1 - first);
    }
    const events: TraceEvent<unknown>[] = [];
    for (const line of lines) {
      number++;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw new TraceLineError(`${file}:${number}: not a JSON line`);
      }
      const record = check(value, number === 1);
      if (typeof record === 'string') throw new TraceLineError(`${file}:${number}: ${record}`);
      if (record.type === 'start') this.merger.addSegment(file, record);
      else events.push(record);
    }
    this.#lines.set(file, number);
    if (events.length > 0) this.merger.appendEvents(file, events);
  }
}

export interface TraceText {
  readonly name: string;
  readonly text: string;
}

/** Lines per slice of reading. */
const LINES_PER_SLICE = 500;
/** Events merged per slice. */
const EVENTS_PER_SLICE = 256;

/**
 * Reads whole trace files into `merger` and plays them, yielding the share done now and then; returns the
 * names of files whose last line was cut short (a node killed mid-write), which is left out.
 */
export function* playTraceFiles(
  merger: TraceMerger,
  files: readonly TraceText[],
): Generator<number, string[]> {
  const reader = new TraceLines(merger);
  const torn: string[] = [];
  const total = files.reduce((sum, file) => sum + file.text.length, 0);
  let read = 0;
  for (const { name, text } of files) {
    const lines = text.split('\n');
    // A file ends with a newline; what follows the last one is a line the writer did not finish.
    const partial = lines.pop()!;
    if (partial !== '') torn.push(name);
    for (let from = 0; from < lines.length; from += LINES_PER_SLICE) {
      reader.add(name, lines.slice(from, from + LINES_PER_SLICE));
      yield (0.2 * (read + text.length * (from / lines.length))) / total;
    }
    read += text.length;
  }
  const events = merger.recording.length;
  for (
    let played = merger.run(EVENTS_PER_SLICE, true);
    played > 0;
    played = merger.run(EVENTS_PER_SLICE, true)
  ) {
    yield 0.2 + (0.8 * (merger.recording.length - events)) / Math.max(1, merger.total);
  }
  merger.finish();
  return torn;
}
