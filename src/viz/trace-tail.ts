/**
 * Follows a directory of trace files as nodes write them (`pureraft cluster --trace-dir`): every whole line,
 * once, in order, per file, including files that appear later (a restarted node starts a new one). Polls
 * rather than watches: fs.watch is unreliable across platforms and filesystems, and a tenth of a second is
 * soon enough to draw.
 */
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

export type LinesListener = (file: string, lines: readonly string[]) => void;

const POLL_MS = 100;
/** Most bytes read from one file per poll, so that a long backlog streams in pieces. */
const READ_BYTES = 1 << 20;

export class TraceTail {
  /** Per file: bytes consumed, the start of a line not finished yet, and a character split across reads. */
  readonly #files = new Map<string, { offset: number; partial: string; decoder: StringDecoder }>();
  readonly #listeners = new Set<LinesListener>();
  #timer: NodeJS.Timeout | undefined;
  #polling = false;

  constructor(readonly directory: string) {}

  /** Everything read so far, file by file, for a listener that joins late (another page). */
  readonly backlog = new Map<string, string[]>();

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

  /** Calls `listener` with every line from now on; returns how to stop. */
  listen(listener: LinesListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const names = (await readdir(this.directory).catch(() => [] as string[])).filter((name) =>
        name.endsWith('.trace'),
      );
      for (const name of names.sort()) await this.#read(name);
    } finally {
      this.#polling = false;
    }
  }

  async #read(name: string): Promise<void> {
    const state = this.#files.get(name) ?? { offset: 0, partial: '', decoder: new StringDecoder('utf8') };
    this.#files.set(name, state);
    const handle = await open(join(this.directory, name), 'r').catch(() => undefined);
    if (handle === undefined) return;
    try {
      const buffer = Buffer.alloc(READ_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, state.offset);
      if (bytesRead === 0) return;
      state.offset += bytesRead;
      const text = state.partial + state.decoder.write(buffer.subarray(0, bytesRead));
      const lines = text.split('\n');
      state.partial = lines.pop()!;
      if (lines.length === 0) return;
      const kept = this.backlog.get(name) ?? [];
      // One by one: a spread of a read's lines (up to a MiB of them) overflows the call stack.
      for (const line of lines) kept.push(line);
      this.backlog.set(name, kept);
      for (const listener of this.#listeners) listener(name, lines);
    } finally {
      await handle.close();
    }
  }
}
