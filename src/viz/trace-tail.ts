/**
 * Follows a directory of trace files as nodes write them (`pureraft cluster --trace-dir`): every whole line,
 * once, in order, per file, including files that appear later (a restarted node starts a new one). Polls
 * rather than watches: fs.watch is unreliable across platforms and filesystems, and a tenth of a second is
 * soon enough to draw.
 *
 * It keeps no line in memory: the files are the history. A page that connects late is caught up from the
 * files themselves, up to where the tail has delivered, and then gets the new lines; so the server's memory
 * stays flat however long the cluster runs, and however slowly a page reads.
 *
 * Each poll reads a file to its end before it reads the next one. A node's files are named by start time, and a
 * node is restarted only once its last process has exited, so the lines of one incarnation are all delivered
 * before the first line of the next (the page plays a node's next file once the current one runs out).
 */
import { type FileHandle, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Whole lines of `file`, `first` being the 1-based number of the first of them. */
export type LinesListener = (file: string, first: number, lines: readonly string[]) => void;
/** The same, for catching up: the next lines are read once the promise it returns settles. */
export type BacklogListener = (file: string, first: number, lines: readonly string[]) => Promise<void>;

const POLL_MS = 100;
/** Bytes read from a file at a time: a long backlog streams in pieces. */
const READ_BYTES = 1 << 20;
/** The longest line followed (a trace line holds one event: a snapshot's data is a reference, not the bytes). */
export const MAX_LINE_BYTES = 64 << 20;

/** How far a file has been delivered: its bytes through the last newline, and the lines in them. */
interface Mark {
  bytes: number;
  lines: number;
}

export class TraceTail {
  readonly #files = new Map<string, Mark>();
  readonly #listeners = new Set<LinesListener>();
  /** Files whose line outgrew MAX_LINE_BYTES: said once, then left alone. */
  readonly #abandoned = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #polling = false;

  constructor(readonly directory: string) {}

  start(): void {
    // A poll that fails (a file that vanished mid-read, say) is tried again at the next tick, never the end of
    // the server (an unhandled rejection ends Node).
    this.#timer = setInterval(() => {
      this.poll().catch((error: unknown) =>
        console.error(`viz: reading the traces failed: ${String(error)}`),
      );
    }, POLL_MS);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Lines delivered so far, per file. */
  get delivered(): ReadonlyMap<string, number> {
    return new Map([...this.#files].map(([name, mark]) => [name, mark.lines]));
  }

  /** Calls `listener` with every line from now on; returns how to stop. */
  listen(listener: LinesListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Every line delivered so far, read again from the files (file by file, in name order, through `backlog`,
   * which holds the reading back until it is ready for more), then every line from then on through `live`.
   * Nothing is held in memory meanwhile: what the tail delivers while the backlog is read is read from the files
   * too, round after round, until a round finds nothing new; in that same turn `live` takes over, so no line is
   * missed or repeated. `stopped` ends the reading early (the page went away). Returns how to stop the live
   * lines.
   */
  follow(
    backlog: BacklogListener,
    live: LinesListener,
    stopped: () => boolean,
  ): { readonly caughtUp: Promise<void>; readonly stop: () => void } {
    let stopLive: () => void = () => {};
    let stoppedEarly = false;
    const read = new Map<string, Mark>();
    const reading = (async () => {
      for (;;) {
        const behind = [...this.#files]
          .filter(([name, mark]) => mark.bytes > (read.get(name)?.bytes ?? 0))
          .sort(byName);
        if (stoppedEarly || stopped()) return;
        if (behind.length === 0) {
          stopLive = this.listen(live);
          return;
        }
        for (const [name, mark] of behind) {
          let position = read.get(name);
          if (position === undefined) {
            position = { bytes: 0, lines: 0 };
            read.set(name, position);
          }
          const before = position.bytes;
          await this.#readLines(name, position, mark.bytes, async (first, lines) => {
            if (stopped()) return false;
            await backlog(name, first, lines);
            return true;
          });
          // A file that gives nothing more (removed under us): what is left of it is skipped, not read for ever.
          if (position.bytes === before && !stopped()) Object.assign(position, mark);
        }
      }
    })();
    const stop = () => {
      stoppedEarly = true;
      stopLive();
    };
    return { caughtUp: reading, stop };
  }

  async poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const names = (await readdir(this.directory).catch(() => [] as string[])).filter((name) =>
        name.endsWith('.trace'),
      );
      for (const name of names.sort()) {
        if (this.#abandoned.has(name)) continue;
        let mark = this.#files.get(name);
        if (mark === undefined) {
          mark = { bytes: 0, lines: 0 };
          this.#files.set(name, mark);
        }
        await this.#readLines(name, mark, Number.POSITIVE_INFINITY, async (first, lines) => {
          for (const listener of this.#listeners) listener(name, first, lines);
          return true;
        });
      }
    } finally {
      this.#polling = false;
    }
  }

  /**
   * Reads the whole lines of `name` from `mark` up to byte `end` (or its end), a piece at a time, handing each
   * piece's lines to `take` and moving `mark` past them in the same turn (so that `follow`'s copy of the marks
   * and the listeners agree on which lines were delivered). A line not finished yet is left for the next read.
   * `take` answers whether to read on.
   */
  async #readLines(
    name: string,
    mark: Mark,
    end: number,
    take: (first: number, lines: string[]) => Promise<boolean>,
  ): Promise<void> {
    let handle: FileHandle;
    try {
      handle = await open(join(this.directory, name), 'r');
    } catch {
      return; // gone between the listing and the opening: the next poll no longer lists it
    }
    try {
      let buffer = Buffer.alloc(READ_BYTES);
      while (mark.bytes < end) {
        const want = Math.min(buffer.length, end - mark.bytes);
        const { bytesRead } = await handle.read(buffer, 0, want, mark.bytes);
        if (bytesRead === 0) return;
        const newline = buffer.lastIndexOf(NEWLINE, bytesRead - 1);
        if (newline === -1) {
          // A line longer than the buffer, or one not finished yet.
          if (bytesRead < buffer.length) return;
          if (buffer.length >= MAX_LINE_BYTES) {
            this.#abandoned.add(name);
            console.error(`viz: ${name} has a line over ${MAX_LINE_BYTES} bytes: no longer followed`);
            return;
          }
          buffer = Buffer.alloc(buffer.length * 2);
          continue;
        }
        const lines = buffer.toString('utf8', 0, newline).split('\n');
        const first = mark.lines + 1;
        mark.bytes += newline + 1;
        mark.lines += lines.length;
        if (!(await take(first, lines)) || bytesRead < want) return;
      }
    } finally {
      await handle.close();
    }
  }
}

const NEWLINE = 0x0a;

function byName(a: readonly [string, unknown], b: readonly [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
