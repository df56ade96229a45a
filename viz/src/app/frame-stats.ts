/**
 * How smoothly the page draws: the time between frames and the work done in each (stepping, drawing), over
 * the last few seconds, with how many messages were in the air. Shown to the tests and the performance script.
 */

const KEEP = 600;

export interface FrameSummary {
  readonly frames: number;
  /** Frames per second over the frames kept. */
  readonly fps: number;
  readonly intervalP95Ms: number;
  readonly intervalMaxMs: number;
  readonly workP50Ms: number;
  readonly workP95Ms: number;
  readonly workMaxMs: number;
  readonly flightsMax: number;
  readonly flightsMean: number;
}

function percentile(values: readonly number[], share: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))]!;
}

export class FrameStats {
  #intervals: number[] = [];
  #work: number[] = [];
  #flights: number[] = [];

  record(intervalMs: number, workMs: number, flights: number): void {
    this.#intervals.push(intervalMs);
    this.#work.push(workMs);
    this.#flights.push(flights);
    if (this.#intervals.length > KEEP) {
      this.#intervals.shift();
      this.#work.shift();
      this.#flights.shift();
    }
  }

  reset(): void {
    this.#intervals = [];
    this.#work = [];
    this.#flights = [];
  }

  summary(): FrameSummary {
    const total = this.#intervals.reduce((sum, value) => sum + value, 0);
    return {
      frames: this.#intervals.length,
      fps: total === 0 ? 0 : (1000 * this.#intervals.length) / total,
      intervalP95Ms: percentile(this.#intervals, 0.95),
      intervalMaxMs: Math.max(0, ...this.#intervals),
      workP50Ms: percentile(this.#work, 0.5),
      workP95Ms: percentile(this.#work, 0.95),
      workMaxMs: Math.max(0, ...this.#work),
      flightsMax: Math.max(0, ...this.#flights),
      flightsMean: this.#flights.reduce((sum, value) => sum + value, 0) / Math.max(1, this.#flights.length),
    };
  }
}
