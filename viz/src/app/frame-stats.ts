/**
 * How smoothly the page draws: the time between frames, and the work of each frame, split into running the
 * source on (a simulation steps the real core) and drawing, over the last few seconds, with how many messages
 * were in the air. Shown to the tests and the performance script.
 */

const KEEP = 600;

export interface FrameSummary {
  readonly frames: number;
  /** Frames per second over the frames kept. */
  readonly fps: number;
  readonly intervalP95Ms: number;
  readonly intervalMaxMs: number;
  /** Running the source on (stepping a simulation) and drawing, together. */
  readonly workP50Ms: number;
  readonly workP95Ms: number;
  readonly workMaxMs: number;
  readonly drawP50Ms: number;
  readonly drawP95Ms: number;
  readonly flightsMax: number;
  readonly flightsMean: number;
}

function percentile(values: readonly number[], share: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))]!;
}

const mean = (values: readonly number[]): number =>
  values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);

export class FrameStats {
  #intervals: number[] = [];
  #work: number[] = [];
  #draw: number[] = [];
  #flights: number[] = [];

  record(intervalMs: number, workMs: number, drawMs: number, flights: number): void {
    this.#intervals.push(intervalMs);
    this.#work.push(workMs);
    this.#draw.push(drawMs);
    this.#flights.push(flights);
    if (this.#intervals.length > KEEP) {
      for (const series of [this.#intervals, this.#work, this.#draw, this.#flights]) series.shift();
    }
  }

  reset(): void {
    this.#intervals = [];
    this.#work = [];
    this.#draw = [];
    this.#flights = [];
  }

  summary(): FrameSummary {
    return {
      frames: this.#intervals.length,
      fps: this.#intervals.length === 0 ? 0 : 1000 / mean(this.#intervals),
      intervalP95Ms: percentile(this.#intervals, 0.95),
      intervalMaxMs: Math.max(0, ...this.#intervals),
      workP50Ms: percentile(this.#work, 0.5),
      workP95Ms: percentile(this.#work, 0.95),
      workMaxMs: Math.max(0, ...this.#work),
      drawP50Ms: percentile(this.#draw, 0.5),
      drawP95Ms: percentile(this.#draw, 0.95),
      flightsMax: Math.max(0, ...this.#flights),
      flightsMean: mean(this.#flights),
    };
  }
}
