/** Installs `window.__viz` (hook-api.ts) on the page. */
import { logOf, status } from '../../../src/core/index.js';
import { defaultRate } from '../ui/controls.js';
import type { App } from './app.js';
import { fetchTraces } from './fetch-traces.js';
import type { VizHook } from './hook-api.js';

export function installHook(app: App, idle: () => Promise<void>): VizHook {
  const hook: VizHook = {
    position: () => ({
      mode: app.source.kind,
      event: app.player.event,
      at: app.player.at,
      length: app.source.recording.length,
      ...(app.source.run && { items: app.source.run.items, time: app.source.run.time }),
      playing: app.player.playing,
    }),
    view: () => {
      const view = app.view;
      if (view === undefined) return undefined;
      const flights = view.flights.map(({ message, progress, fate }) => ({
        type: message.type,
        from: message.from,
        to: message.to,
        progress,
        fate,
      }));
      return { ...view, flights };
    },
    simulator: () => {
      const run = app.source.run;
      const window = app.view?.window;
      if (run === undefined || window === undefined) return undefined;
      return run.sim.ids.map((id) => {
        const node = run.sim.node(id);
        if (node.state === null) return { id, down: true };
        const log = logOf(node.state);
        const from = Math.max(window.from, log.firstIndex);
        const entries = log.slice(from, Math.min(window.to, log.lastIndex));
        return {
          id,
          down: false,
          status: status(node.state),
          precandidate: node.state.role === 'precandidate',
          log: entries.map(({ index, term, kind }) => ({ index, term, kind })),
        };
      });
    },
    runItems: (items) => {
      const run = app.source.run;
      if (run === undefined) return;
      app.player.playing = false;
      for (let item = 0; item < items && run.stepItem(); item++);
      app.player.seekEvent(run.recording.length - 1);
      app.draw();
    },
    pause: () => {
      app.player.playing = false;
    },
    play: (rate) => {
      if (rate !== undefined) app.player.rate = rate;
      app.player.playing = true;
    },
    seekEvent: (event) => {
      app.player.playing = false;
      app.player.seekEvent(event);
      app.draw();
    },
    violation: () => app.source.recording.violation,
    frames: () => app.stats.summary(),
    resetFrames: () => app.stats.reset(),
    dots: () => app.dots(),
    nodeCenter: (id) => app.nodeCenter(id),
    openTraces: async (urls) => {
      await app.open(await fetchTraces(urls), defaultRate('events'));
    },
    idle,
  };
  (window as unknown as { __viz: VizHook }).__viz = hook;
  return hook;
}
