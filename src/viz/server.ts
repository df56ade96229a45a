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
}

export interface VizServer {
  /** The page's address, with what it should show in its query. */
  readonly url: string;
  close(): Promise<void>;
}

/** Lines per server-sent event when catching a page up. */
const LINES_PER_EVENT = 2000;

type Handler = (request: IncomingMessage, response: ServerResponse, next: () => void) => void;

function liveEvents(tail: TraceTail, poll: StatusPoll): Handler {
  return (request, response) => {
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    const send = (event: string, data: unknown): void => {
      response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const record = (file: string, lines: readonly string[]): void => {
      for (let from = 0; from < lines.length; from += LINES_PER_EVENT) {
        send('record', { file, lines: lines.slice(from, from + LINES_PER_EVENT) });
      }
    };
    // The backlog, then every new line: both on this turn of the event loop, so nothing falls between.
    for (const [file, lines] of tail.backlog) record(file, lines);
    for (const [id, up] of poll.up) send('node', { id, up });
    const stopLines = tail.listen(record);
    const stopNodes = poll.listen((id, up) => send('node', { id, up }));
    request.on('close', () => {
      stopLines();
      stopNodes();
    });
  };
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
          if (tail && poll) vite.middlewares.use('/live/events', liveEvents(tail, poll));
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
