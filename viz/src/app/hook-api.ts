/**
 * `window.__viz`: a small handle for the browser tests and the performance script, to drive the page to a
 * known moment and to read what it shows next to what the simulator itself holds. Apart from hook.ts, which
 * installs it, so that the tests (type-checked without the DOM) can name it.
 */
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
  /** Opens trace files from these addresses (as `?trace=` does), once loaded and played. */
  openTraces(urls: readonly string[]): Promise<void>;
  /** Resolves when the page has finished what it was loading (a run replayed, a trace played). */
  idle(): Promise<void>;
}
