/**
 * Live mode's side in the page: a running cluster's trace lines, streamed by `pureraft viz --live` (or
 * `pureraft cluster --viz`) as server-sent events, played through the real core by the same merger that plays
 * trace files; and which node processes answer, so a node that died is drawn down before it comes back.
 *
 * Stream: `record` events carry `{ file, first, lines }` (whole lines of one trace file, in order, `first` the
 * number of the first); `node` events carry `{ id, up }`. When the page reconnects (the server went away, or
 * dropped a page that fell behind), the server starts from the first line again, and the lines already
 * played are skipped.
 */
import { TraceMerger } from '../model/node-traces.js';
import { TraceLines } from '../model/trace-lines.js';

/** How long a receive may wait for its send to be streamed before it is played without it. */
const WAIT_FOR_SEND_MS = 1000;
/** Most events played per frame: a cluster that has run for a while arrives as one big backlog. */
const EVENTS_PER_FRAME = 2000;

export class LiveFeed {
  readonly merger = new TraceMerger();
  status = 'connecting';
  readonly #reader = new TraceLines(this.merger);
  #waitingSince: number | undefined;
  #source: EventSource | undefined;

  connect(url: string): void {
    const source = new EventSource(url);
    this.#source = source;
    source.addEventListener('open', () => {
      this.status = 'connected';
    });
    source.addEventListener('error', () => {
      this.status = 'disconnected: retrying';
    });
    source.addEventListener('record', (event) => {
      const { file, first, lines } = JSON.parse((event as MessageEvent<string>).data) as {
        file: string;
        first: number;
        lines: string[];
      };
      this.#lines(file, first, lines);
    });
    source.addEventListener('node', (event) => {
      const { id, up } = JSON.parse((event as MessageEvent<string>).data) as { id: string; up: boolean };
      if (!up) this.merger.down(id);
    });
  }

  close(): void {
    this.#source?.close();
  }

  #lines(file: string, first: number, lines: readonly string[]): void {
    try {
      this.#reader.add(file, lines, first);
    } catch (error) {
      this.status = (error as Error).message;
    }
  }

  /** Plays what has arrived; a receive waits for its send a while, then goes ahead without it. */
  pump(): void {
    const release =
      this.#waitingSince !== undefined && performance.now() - this.#waitingSince > WAIT_FOR_SEND_MS;
    this.merger.run(EVENTS_PER_FRAME, release);
    if (!this.merger.pending) this.#waitingSince = undefined;
    else this.#waitingSince ??= performance.now();
  }
}
