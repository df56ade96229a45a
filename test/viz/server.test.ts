/**
 * The viz server on bad input: a trace given that is missing or a directory, a download the page abandons, and a
 * live trace of a million empty lines. Each once ended the server, or kept a descriptor per download.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startVizServer, type VizServer } from '../../src/viz/server.js';
import { TraceTail } from '../../src/viz/trace-tail.js';

let dir: string;
let server: VizServer;
let origin: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pureraft-viz-server-'));
  await writeFile(join(dir, 'good.json'), '{"trace":1}\n'.repeat(200_000));
  await mkdir(join(dir, 'a-directory'));
  server = await startVizServer({
    port: 0,
    traces: [join(dir, 'good.json'), join(dir, 'missing.json'), join(dir, 'a-directory')],
  });
  origin = new URL(server.url).origin;
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const descriptors = async () => (await readdir('/proc/self/fd')).length;

it('answers 404 for a trace that is missing or a directory, and goes on serving', async () => {
  expect((await fetch(`${origin}/traces/1/missing.json`)).status).toBe(404);
  expect((await fetch(`${origin}/traces/2/a-directory`)).status).toBe(404);
  const good = await fetch(`${origin}/traces/0/good.json`);
  expect(good.status).toBe(200);
  expect((await good.text()).length).toBe(12 * 200_000);
});

it('closes the file of a download the page abandons', async () => {
  const before = await descriptors();
  for (let i = 0; i < 10; i++) {
    const controller = new AbortController();
    const response = await fetch(`${origin}/traces/0/good.json`, { signal: controller.signal });
    await response.body!.getReader().read();
    controller.abort();
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(await descriptors()).toBeLessThan(before + 5);
});

it('takes a live trace of a million empty lines', async () => {
  const live = join(dir, 'live-alone');
  await mkdir(live);
  await writeFile(join(live, 'n1.trace'), '\n'.repeat(1_000_000));
  const tail = new TraceTail(live);
  // The read's lines were spread into one call's arguments: past the stack's room, a RangeError that ended
  // the server (an unhandled rejection).
  await tail.poll();
  expect(tail.delivered.get('n1.trace')).toBe(1_000_000);
});
