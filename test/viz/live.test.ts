/**
 * Live mode's server side (`pureraft viz --live`, `pureraft cluster --viz`): a page that connects gets every
 * line already in the trace directory, then each line as it is written, in files that appear later too, and
 * which nodes answer /status.
 */
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startVizServer, type VizServer } from '../../src/viz/server.js';

let dir: string;
let server: VizServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pureraft-viz-live-'));
  await writeFile(join(dir, 'n1-a.trace'), '{"line":1}\n{"line":2}\n{"half');
  // Nothing listens on port 9 of loopback: the node is down.
  server = await startVizServer({
    port: 0,
    live: { traceDir: dir, nodes: [{ id: 'n1', url: 'http://127.0.0.1:9' }] },
  });
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Reads server-sent events until `enough` says so; returns them as [event, data] pairs. */
async function events(
  url: string,
  enough: (seen: [string, unknown][]) => boolean,
  act?: () => Promise<void>,
) {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const seen: [string, unknown][] = [];
  let buffered = '';
  let acted = false;
  while (!enough(seen)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    const blocks = buffered.split('\n\n');
    buffered = blocks.pop()!;
    for (const block of blocks) {
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event !== undefined && data !== undefined) seen.push([event, JSON.parse(data)]);
    }
    if (!acted && act !== undefined && seen.length > 0) {
      acted = true;
      await act();
    }
  }
  controller.abort();
  return seen;
}

it('streams what is written, whole lines only, new files too, and which nodes are down', async () => {
  const origin = new URL(server.url).origin;
  expect(server.url).toContain('?live=/live/events');
  const lines = (seen: [string, unknown][]) =>
    seen
      .filter(([event]) => event === 'record')
      .flatMap(([, data]) => {
        const { file, lines } = data as { file: string; lines: string[] };
        return lines.map((line) => `${file} ${line}`);
      });
  const seen = await events(
    `${origin}/live/events`,
    (seen) => lines(seen).length >= 4 && seen.some(([event]) => event === 'node'),
    async () => {
      await appendFile(join(dir, 'n1-a.trace'), '"}\n');
      await writeFile(join(dir, 'n2-a.trace'), '{"other":1}\n');
    },
  );
  expect(lines(seen)).toEqual([
    'n1-a.trace {"line":1}',
    'n1-a.trace {"line":2}',
    'n1-a.trace {"half"}',
    'n2-a.trace {"other":1}',
  ]);
  expect(seen.filter(([event]) => event === 'node').map(([, data]) => data)).toEqual([
    { id: 'n1', up: false },
  ]);
});
