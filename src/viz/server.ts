/**
 * Serves the visualizer for `pureraft viz` and `pureraft cluster --viz`: vite's server on the page's sources
 * in viz/ (so the page runs the core from src/ as it is), on 127.0.0.1, plus two routes of its own:
 *
 * - /live/events: a live cluster as server-sent events: every line of its trace directory (what was written
 *   before the page connected, then each new line), and which node processes answer /status;
 * - /traces/<n>/<name>: the trace files named on the command line, for the page to open.
 *
 * Vite is a development dependency: this runs from a checkout of the repository, not from the published package.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename } from 'node:path';
import { pipeline } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { StatusPoll, type Watched } from './status-poll.js';
import { TraceTail } from './trace-tail.js';

export interface VizServerOptions {
  /** Default 5173; 0 takes any free port. Taken: the next free one. */
  readonly port?: number;
  /** Show a running cluster: its trace directory, and its nodes' HTTP addresses. */
  readonly live?: { readonly traceDir: string; readonly nodes: readonly Watched[] };
  /** Trace files to open in the page. */
  readonly traces?: readonly string[];
  /** Live mode: most bytes waiting to reach one page before it is disconnected (default MAX_UNSENT_BYTES). */
  readonly maxUnsentBytes?: number;
}

export interface VizServer {
  /** The page's address, with what it should show in its query. */
  readonly url: string;
  close(): Promise<void>;
}

/** Lines per server-sent event. */
const LINES_PER_EVENT = 2000;
/**
 * Most bytes waiting to reach one page, by default. A page that falls this far behind the live lines (a stalled tab, a slow
 * link) is disconnected rather than buffered for without end; its EventSource connects again, is caught up from
 * the files, and drops the lines it already has (each event says which lines it carries).
 */
export const MAX_UNSENT_BYTES = 32 << 20;
/** How soon a disconnected page tries again, in ms (EventSource's `retry`). */
const RETRY_MS = 1000;

type Handler = (request: IncomingMessage, response: ServerResponse, next: () => void) => void;

function liveEvents(tail: TraceTail, poll: StatusPoll, maxUnsentBytes: number): Handler {
  return (_request, response) => {
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    response.write(`retry: ${RETRY_MS}\n\n`);
    let closed = false;
    const send = (event: string, data: unknown): boolean =>
      response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    /** Sends `lines` as records; whether the page has taken everything sent so far. */
    const record = (file: string, first: number, lines: readonly string[]): boolean => {
      let flowing = true;
      for (let from = 0; from < lines.length; from += LINES_PER_EVENT) {
        flowing = send('record', {
          file,
          first: first + from,
          lines: lines.slice(from, from + LINES_PER_EVENT),
        });
      }
      return flowing;
    };
    const follow = tail.follow(
      // The backlog waits for the page: it is read from the files only as fast as the page takes it.
      async (file, first, lines) => {
        if (!record(file, first, lines) && !closed) await drained(response);
      },
      (file, first, lines) => {
        record(file, first, lines);
        if (response.writableLength > maxUnsentBytes) {
          console.error(`viz: a page fell ${response.writableLength} bytes behind: disconnected`);
          response.destroy();
        }
      },
      () => closed,
    );
    follow.caughtUp.catch((error: unknown) => {
      console.error(`viz: catching a page up failed: ${String(error)}`);
      response.destroy();
    });
    for (const [id, up] of poll.up) send('node', { id, up });
    const stopNodes = poll.listen((id, up) => send('node', { id, up }));
    response.on('close', () => {
      closed = true;
      follow.stop();
      stopNodes();
    });
  };
}

/** Settles when `response` has sent what it buffered, or is closed. */
function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

function traceFiles(paths: readonly string[]): Handler {
  return (request, response, next) => {
    const index = Number(/^\/(\d+)\//.exec(request.url ?? '')?.[1]);
    const path = paths[index];
    if (path === undefined) return next();
    // A trace missing, or a directory, is a 404, not the end of the server.
    stat(path).then(
      (stats) => {
        if (!stats.isFile()) return notFound(response, `${path} is not a file`);
        response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        // pipeline closes the file when the page goes away mid-download (pipe left it open: a descriptor each).
        pipeline(createReadStream(path), response, () => {});
      },
      (error: Error) => notFound(response, `cannot read ${path}: ${error.message}`),
    );
  };
}

function notFound(response: ServerResponse, why: string): void {
  response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  response.end(`${why}\n`);
}

export async function startVizServer(options: VizServerOptions = {}): Promise<VizServer> {
  const { createServer } = await import('vite');
  const root = fileURLToPath(new URL('../../viz/', import.meta.url));
  const traces = options.traces ?? [];
  const live = options.live;
  const tail = live && new TraceTail(live.traceDir);
  const poll = live && new StatusPoll(live.nodes);
  const server = await createServer({
    configFile: `${root}vite.config.ts`,
    logLevel: 'warn',
    clearScreen: false,
    server: { port: options.port ?? 5173, strictPort: false },
    plugins: [
      {
        name: 'pureraft-viz-routes',
        configureServer(vite) {
          if (tail && poll)
            vite.middlewares.use(
              '/live/events',
              liveEvents(tail, poll, options.maxUnsentBytes ?? MAX_UNSENT_BYTES),
            );
          vite.middlewares.use('/traces', traceFiles(traces));
        },
      },
    ],
  });
  await server.listen();
  tail?.start();
  poll?.start();
  const base = server.resolvedUrls?.local[0] ?? `http://127.0.0.1:${options.port ?? 5173}/`;
  const query = live
    ? '?live=/live/events'
    : traces.length > 0
      ? `?trace=${traces.map((path, i) => `/traces/${i}/${encodeURIComponent(basename(path))}`).join(',')}`
      : '';
  return {
    url: `${base}${query}`,
    close: async () => {
      tail?.stop();
      poll?.stop();
      await server.close();
    },
  };
}
