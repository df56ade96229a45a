/**
 * `window.__viz`: a small handle for the browser tests and the performance script, to drive the page to a
 * known moment and to read what it shows next to what the simulator itself holds.
 */
import { logOf, status } from '../../../src/core/index.js';
import type { App } from './app.js';
import type { FrameSummary } from './frame-stats.js';

export interface VizHook {
  /** Where the cursor is, and how far the source has got. */
  position(): {
    mode: string;
    event: number;
    at: number;
    length: number;
    items?: number;
    time?: number;
    playing: boolean;
  };
  /** What the page draws now (nodes, logs, links, messages in the air). */
  view(): unknown;
  /** The simulator's own state of every node (a simulation only): status, and the log over the shown window. */
  simulator(): unknown;
  /** Pauses and runs the simulation `items` more items, then shows its newest event. */
  runItems(items: number): void;
  pause(): void;
  play(rate?: number): void;
  seekEvent(event: number): void;
  violation(): unknown;
  frames(): FrameSummary;
  resetFrames(): void;
  dots(): { x: number; y: number; type: string }[];
  nodeCenter(id: string): { x: number; y: number } | undefined;
  /** Resolves when the page has finished what it was loading (a run replayed, a trace played). */
  idle(): Promise<void>;
}

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
    idle,
  };
  (window as unknown as { __viz: VizHook }).__viz = hook;
  return hook;
}
