/**
 * Live mode's server side (`pureraft viz --live`, `pureraft cluster --viz`): a page that connects gets every
 * line already in the trace directory, then each line as it is written, in files that appear later too, and
 * which nodes answer /status.
 */
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { startVizServer, type VizServer } from '../../src/viz/server.js';
import { TraceTail } from '../../src/viz/trace-tail.js';

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

/** A fresh trace directory, removed after the test. */
async function traceDir(): Promise<string> {
  const made = await mkdtemp(join(tmpdir(), 'pureraft-viz-tail-'));
  onTestFinished(() => rm(made, { recursive: true, force: true }));
  return made;
}

const numbered = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `{"n":${from + i}}\n`).join('');

it('catches a late page up from the files, with no line missed or repeated while new ones arrive', async () => {
  const dir = await traceDir();
  await writeFile(join(dir, 'n1-a.trace'), numbered(1, 5000));
  const tail = new TraceTail(dir);
  await tail.poll();
  const got: string[] = [];
  const take = (file: string, first: number, lines: readonly string[]) => {
    for (const [i, line] of lines.entries()) got.push(`${file}:${first + i} ${line}`);
  };
  let pieces = 0;
  const follow = tail.follow(
    async (file, first, lines) => {
      take(file, first, lines);
      // While the page takes the backlog, the nodes write on and the tail delivers.
      if (pieces++ === 0) {
        await appendFile(join(dir, 'n1-a.trace'), numbered(5001, 5100));
        await writeFile(join(dir, 'n2-a.trace'), numbered(1, 10));
        await tail.poll();
      }
    },
    take,
    () => false,
  );
  await follow.caughtUp;
  await appendFile(join(dir, 'n2-a.trace'), numbered(11, 12));
  await tail.poll();
  follow.stop();
  expect(got).toEqual([
    ...Array.from({ length: 5100 }, (_, i) => `n1-a.trace:${i + 1} {"n":${i + 1}}`),
    ...Array.from({ length: 12 }, (_, i) => `n2-a.trace:${i + 1} {"n":${i + 1}}`),
  ]);
  expect(tail.delivered).toEqual(
    new Map([
      ['n1-a.trace', 5100],
      ['n2-a.trace', 12],
    ]),
  );
});

it("delivers a node's earlier file to its end before the first line of its next", async () => {
  const dir = await traceDir();
  // Several reads' worth: the tail once read a piece of each file per poll, so the next file's start came
  // before the rest of the earlier one, and the page, having moved on to the next file, never played the rest.
  await writeFile(join(dir, 'n1-a.trace'), numbered(1, 300_000));
  await writeFile(join(dir, 'n1-b.trace'), numbered(1, 3));
  const tail = new TraceTail(dir);
  const order: string[] = [];
  tail.listen((file, first, lines) => order.push(`${file} ${first}-${first + lines.length - 1}`));
  await tail.poll();
  expect(order.at(-1)).toBe('n1-b.trace 1-3');
  expect(order.at(-2)).toMatch(/^n1-a\.trace \d+-300000$/);
});

it('disconnects a page that falls behind, and serves it again from the start when it reconnects', async () => {
  const dir = await traceDir();
  await writeFile(join(dir, 'n1-a.trace'), numbered(1, 10));
  const slow = await startVizServer({
    port: 0,
    live: { traceDir: dir, nodes: [] },
    maxUnsentBytes: 1 << 20,
  });
  onTestFinished(() => slow.close());
  const origin = new URL(slow.url).origin;
  // A page that connects and then reads nothing.
  const stalled = await fetch(`${origin}/live/events`);
  const reader = stalled.body!.getReader();
  await reader.read();
  // Far more than the sockets' buffers and the bound: the server must drop the page, not buffer for it.
  const line = `{"pad":"${'x'.repeat(1000)}"}\n`;
  for (let i = 0; i < 32; i++) await appendFile(join(dir, 'n1-a.trace'), line.repeat(1000));
  const ended = await (async () => {
    try {
      for (;;) if ((await reader.read()).done) return 'done';
    } catch {
      return 'dropped';
    }
  })();
  expect(['done', 'dropped']).toContain(ended);
  // Connecting again, it is caught up from the first line.
  const again = await events(`${origin}/live/events`, (seen) => seen.length > 0);
  expect(again[0]).toEqual(['record', expect.objectContaining({ file: 'n1-a.trace', first: 1 })]);
});

it('catches a page up past a trace file removed while it is read, rather than read it for ever', async () => {
  const dir = await traceDir();
  await writeFile(join(dir, 'n1-a.trace'), numbered(1, 10));
  await writeFile(join(dir, 'n2-a.trace'), numbered(1, 10));
  const tail = new TraceTail(dir);
  await tail.poll();
  const got: string[] = [];
  const follow = tail.follow(
    async (file, first, lines) => {
      got.push(`${file} ${first}-${first + lines.length - 1}`);
      if (file === 'n1-a.trace') await rm(join(dir, 'n2-a.trace'));
    },
    () => {},
    () => false,
  );
  await follow.caughtUp;
  follow.stop();
  expect(got).toEqual(['n1-a.trace 1-10']);
});
