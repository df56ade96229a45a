/**
 * Where the events on the page come from: a simulation the page runs (and can run further, and act on), a
 * trace file played into a recording, or a live cluster's traces as they are written.
 */
import type { Recording } from '../model/recording.js';
import type { SimRun } from '../model/sim-run.js';

export type SourceKind = 'simulation' | 'trace' | 'live';

export interface Source {
  readonly kind: SourceKind;
  readonly recording: Recording<unknown>;
  /** What it is, for the header. */
  readonly title: string;
  /** The simulation, when it is one. */
  readonly run?: SimRun;
  /** Runs on to axis position `at` if the source can (a simulation), for about `budgetMs`; how far it got. */
  extend(at: number, budgetMs: number): number;
  /** Makes one more event if the source can. */
  stepOne(): boolean;
}

/** Items between two looks at the clock while catching up. */
const ITEMS_PER_CHECK = 16;
/** Most items tried to make one visible event (deliveries to a crashed node leave none). */
const ITEMS_PER_STEP = 10_000;

export function simulationSource(run: SimRun, title: string): Source {
  return {
    kind: 'simulation',
    recording: run.recording as Recording<unknown>,
    title,
    run,
    extend(at, budgetMs) {
      const deadline = performance.now() + budgetMs;
      while (!run.advanceTo(at, ITEMS_PER_CHECK)) if (performance.now() > deadline) return run.time;
      return at;
    },
    stepOne() {
      const before = run.recording.length;
      for (let items = 0; items < ITEMS_PER_STEP && run.recording.length === before; items++) {
        if (!run.stepItem()) return false;
      }
      return run.recording.length > before;
    },
  };
}

/** A recording that grows on its own (a trace loading, a live cluster) or not at all. */
export function recordedSource(kind: 'trace' | 'live', recording: Recording<unknown>, title: string): Source {
  return {
    kind,
    recording,
    title,
    extend: () => recording.headAt,
    stepOne: () => false,
  };
}
