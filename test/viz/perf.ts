/**
 * The visualizer's performance, in Debian's chromium (`npm run viz:perf`):
 *
 * 1. Frames: 5 nodes under client load with deep pipelines, hundreds of messages in the air, played at real
 *    time: frames per second, and each frame's work (stepping the real core, drawing) at the median and p95.
 * 2. Big traces: 100,000 events recorded from 5 nodes in the trace format of `pureraft node --trace` (the real
 *    core on a simulated network, recorded through the reducer exactly as a node's TraceWriter does), and a
 *    property-format history of the same size: how long each takes to load, the longest the page went without
 *    drawing a frame meanwhile, its memory, and how long a jump to any event takes (scrubbing).
 *
 * Prints a report; exits 1 only if the browser could not be had.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Page } from 'playwright-core';
import type { Scenario, ScenarioConfig } from '../../properties/scenario.js';
import type { Trace as PropertyTrace } from '../../properties/trace.js';
import { type Config, type Durable, init, type NodeId, step } from '../../src/core/index.js';
import { transitionDigest } from '../../src/runtime/node/trace.js';
import { Cluster, Random } from '../../src/runtime/simulator/index.js';
import { startVizServer } from '../../src/viz/server.js';
import type { FrameSummary } from '../../viz/src/app/frame-stats.js';
import { findChromium, launch } from './browser.js';

const EVENTS = Number(process.env.VIZ_PERF_EVENTS ?? 100_000);

/** Five nodes' trace files (JSON lines, as TraceWriter writes them) holding `events` events in all. */
function nodeTraces(events: number): Map<NodeId, string[]> {
  const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
  const lines = new Map<NodeId, string[]>(ids.map((id) => [id, []]));
  let count = 0;
  const random = new Random(42);
  const cluster = new Cluster<string>({
    ids,
    config: (id, incarnation): Config => ({
      id,
      voters: ids,
      electionTimeout: [150, 300],
      heartbeatInterval: 50,
      seed: ids.indexOf(id) + 100 * incarnation,
    }),
    delays: () => [random.int(1, 20)],
    // Recorded through the reducer, exactly what a node's TraceWriter writes: its start, then every event.
    reducer: {
      init: (config: Config, durable?: Durable<string>) => {
        const stored: Durable<string> = durable ?? { hardState: { term: 0, votedFor: null }, entries: [] };
        const result = init(config, stored);
        const digest = transitionDigest(...result);
        lines
          .get(config.id)!
          .push(JSON.stringify({ type: 'start', version: 1, config, durable: stored, digest }));
        return result;
      },
      step: (state, event) => {
        const result = step(state, event);
        count++;
        lines
          .get(state.settings.id)!
          .push(JSON.stringify({ type: 'event', event, digest: transitionDigest(...result) }));
        return result;
      },
    },
  });
  for (let round = 0; count < events; round++) {
    cluster.runUntil(cluster.now + 10, events - count);
    const leader = ids.find((id) => cluster.node(id).state?.role === 'leader');
    if (leader !== undefined && round % 2 === 0) cluster.propose(leader, `set k${round}=${round}`);
  }
  return lines;
}

/** A property-format history (ticks and proposals on 5 nodes, the real core) of about `events` events. */
function propertyTrace(events: number): PropertyTrace {
  const config: ScenarioConfig = {
    electionTimeout: [150, 300],
    heartbeatInterval: 50,
    maxEntriesPerAppend: 64,
    maxInflightAppends: 4,
    maxDelay: 10,
    seed: 7,
  };
  // About 8 events per action on 5 nodes (measured): a tick is a timer and the deliveries before it.
  const actions: Scenario['actions'] = Array.from({ length: Math.round(events / 8) }, (_, i) =>
    i % 4 === 3 ? { type: 'propose', node: 'leader' } : { type: 'tick' },
  );
  return {
    property: 'safety',
    seed: 0,
    size: 5,
    config,
    actions,
    violation: { property: 'no exception', message: '(none: a long history that breaks nothing)', step: -1 },
  };
}

const viz = <T>(page: Page, code: string): Promise<T> =>
  page.evaluate(`(async (viz) => { ${code} })(window.__viz)`);

interface LoadReport {
  readonly events: number;
  readonly loadMs: number;
  readonly longestFrameGapMs: number;
  readonly heapMB: number;
  readonly seekP50Ms: number;
  readonly seekP95Ms: number;
  readonly seekMaxMs: number;
  readonly dragFrames: FrameSummary;
}

/** Opens trace files the server serves (`urls`), as `pureraft viz --trace` does, and measures the page. */
async function measureLoad(page: Page, urls: readonly string[]): Promise<LoadReport> {
  await viz(page, 'viz.resetFrames();');
  const started = Date.now();
  await viz(page, `await viz.openTraces(${JSON.stringify(urls)});`);
  const loadMs = Date.now() - started;
  const during = await viz<FrameSummary>(page, 'return viz.frames();');
  const events = await viz<number>(page, 'return viz.position().length;');
  // Chrome's own measure of the page's heap.
  const heapMB = await viz<number>(page, 'return (performance.memory?.usedJSHeapSize ?? NaN) / 2 ** 20;');
  // Jumps to events all over the run, each drawn at once.
  const seeks = await viz<number[]>(
    page,
    `const times = [];
     const length = viz.position().length;
     for (let i = 0; i < 200; i++) {
       const event = Math.floor(((i * 7919) % 200) / 200 * length);
       const began = performance.now();
       viz.seekEvent(event);
       times.push(performance.now() - began);
     }
     return times.sort((a, b) => a - b);`,
  );
  // Dragging the timeline across the whole run, as a person would.
  const box = (await page.locator('#timeline').boundingBox())!;
  await viz(page, 'viz.resetFrames();');
  await page.mouse.move(box.x + 2, box.y + box.height / 2);
  await page.mouse.down();
  for (let step = 0; step <= 60; step++) {
    await page.mouse.move(box.x + 2 + ((box.width - 4) * step) / 60, box.y + box.height / 2);
    await page.waitForTimeout(16);
  }
  await page.mouse.up();
  const dragFrames = await viz<FrameSummary>(page, 'return viz.frames();');
  const at = (share: number) => seeks[Math.min(seeks.length - 1, Math.floor(share * seeks.length))]!;
  return {
    events,
    loadMs,
    longestFrameGapMs: during.intervalMaxMs,
    heapMB,
    seekP50Ms: at(0.5),
    seekP95Ms: at(0.95),
    seekMaxMs: at(1),
    dragFrames,
  };
}

function printLoad(title: string, report: LoadReport): void {
  const { dragFrames: drag } = report;
  console.log(
    [
      `${title}: ${report.events.toLocaleString('en')} events`,
      `  loaded in ${(report.loadMs / 1000).toFixed(1)} s; longest time without a frame meanwhile: ${report.longestFrameGapMs.toFixed(0)} ms`,
      `  JS heap after loading: ${report.heapMB.toFixed(0)} MB`,
      `  jump to any event and draw it: p50 ${report.seekP50Ms.toFixed(2)} ms, p95 ${report.seekP95Ms.toFixed(2)} ms, max ${report.seekMaxMs.toFixed(2)} ms`,
      `  dragging the timeline end to end: ${drag.fps.toFixed(0)} fps, frame work p95 ${drag.workP95Ms.toFixed(1)} ms, longest gap ${drag.intervalMaxMs.toFixed(0)} ms`,
    ].join('\n'),
  );
}

async function main(): Promise<number> {
  const chromium = findChromium();
  if (chromium.path === undefined) {
    console.error(`no browser: ${chromium.reason}`);
    return 1;
  }
  const dir = await mkdtemp(join(tmpdir(), 'pureraft-viz-perf-'));
  const made = Date.now();
  const paths: string[] = [];
  for (const [id, lines] of nodeTraces(EVENTS)) {
    paths.push(join(dir, `${id}.trace`));
    await writeFile(paths.at(-1)!, `${lines.join('\n')}\n`);
  }
  paths.push(join(dir, 'history.json'));
  await writeFile(paths.at(-1)!, JSON.stringify(propertyTrace(EVENTS)));
  console.log(`(traces made in ${((Date.now() - made) / 1000).toFixed(1)} s)\n`);
  // The server serves the files at /traces/<position>/<name>.
  const urls = paths.map((path, i) => `/traces/${i}/${basename(path)}`);
  const [nodeUrls, historyUrl] = [urls.slice(0, -1), urls.at(-1)!];
  const [server, browser] = await Promise.all([
    startVizServer({ port: 0, traces: paths }),
    launch(chromium.path),
  ]);
  try {
    const base = server.url.replace(/\?.*$/, '');
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });

    await page.goto(`${base}#seed=5&nodes=5&delay=120&load=200&inflight=64`);
    await page.waitForFunction("'__viz' in window");
    await viz(page, 'await viz.idle(); viz.play(1000);');
    await page.waitForTimeout(3000);
    await viz(page, 'viz.resetFrames();');
    await page.waitForTimeout(5000);
    const frames = await viz<FrameSummary>(
      page,
      'viz.pause(); const frames = viz.frames(); viz.resetFrames(); return frames;',
    );
    // Paused: the same messages drawn every frame, nothing stepped: what drawing alone allows.
    await page.waitForTimeout(2000);
    const still = await viz<FrameSummary>(page, 'return viz.frames();');
    console.log(
      [
        'frames: 5 nodes, 200 proposals/s, pipelines 64 deep, 120-240 ms delays, played at real time',
        `  ${frames.fps.toFixed(1)} fps over ${frames.frames} frames; longest gap ${frames.intervalMaxMs.toFixed(0)} ms`,
        `  messages in the air: mean ${frames.flightsMean.toFixed(0)}, max ${frames.flightsMax}`,
        `  work per frame (stepping the real core + drawing): p50 ${frames.workP50Ms.toFixed(1)} ms, p95 ${frames.workP95Ms.toFixed(1)} ms`,
        `  of which drawing: p50 ${frames.drawP50Ms.toFixed(1)} ms, p95 ${frames.drawP95Ms.toFixed(1)} ms`,
        `  paused (drawing only, ${still.flightsMax} messages): ${still.fps.toFixed(1)} fps, drawing p95 ${still.drawP95Ms.toFixed(1)} ms`,
      ].join('\n'),
    );

    const sizes = await Promise.all(paths.map(async (path) => (await stat(path)).size));
    console.log(`\ntrace files: ${(sizes.reduce((sum, size) => sum + size, 0) / 2 ** 20).toFixed(1)} MB`);
    printLoad(
      "real nodes' traces (5 files, pureraft node --trace format)",
      await measureLoad(page, nodeUrls),
    );
    printLoad('a property-format history (5 nodes)', await measureLoad(page, [historyUrl]));
    await page.close();
  } finally {
    await browser.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
  return 0;
}

process.exitCode = await main();
