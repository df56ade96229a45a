/**
 * The timeline of the whole run, under the cluster: how many events happened when (a histogram kept
 * incrementally, so it costs nothing per frame however long the run), a band coloured by the term of each
 * leader, a mark for every action, a red line where a property broke, and the cursor. Drag it to travel.
 */
import type { Marker, Recording } from '../model/recording.js';
import { termColor } from './palette.js';

/** Most bins kept; past it, neighbours merge and each bin covers twice as much. */
const BINS = 1024;

export class TimelineView {
  readonly #canvas: HTMLCanvasElement;
  readonly #context: CanvasRenderingContext2D;
  #recording: Recording<unknown> | undefined;
  #bins: number[] = [];
  /** Actions per bin, binned with the events: a long history has tens of thousands of them. */
  #actions: number[] = [];
  #binSize = 1;
  #counted = 0;
  #markersCounted = 0;
  #leaders: Marker[] = [];
  #violations: Marker[] = [];
  #extent = 1;

  constructor(canvas: HTMLCanvasElement, onSeek: (at: number) => void) {
    this.#canvas = canvas;
    this.#context = canvas.getContext('2d')!;
    const seek = (event: PointerEvent): void => {
      const box = canvas.getBoundingClientRect();
      const share = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
      onSeek(share * this.#extent);
    };
    canvas.addEventListener('pointerdown', (event) => {
      canvas.setPointerCapture(event.pointerId);
      seek(event);
    });
    canvas.addEventListener('pointermove', (event) => {
      if (canvas.hasPointerCapture(event.pointerId)) seek(event);
    });
  }

  reset(recording: Recording<unknown>): void {
    this.#recording = recording;
    this.#bins = [];
    this.#actions = [];
    this.#binSize = recording.axis === 'time' ? 10 : 1;
    this.#counted = 0;
    this.#markersCounted = 0;
    this.#leaders = [];
    this.#violations = [];
  }

  resize(): void {
    const ratio = window.devicePixelRatio || 1;
    const { width, height } = this.#canvas.getBoundingClientRect();
    this.#canvas.width = Math.round(width * ratio);
    this.#canvas.height = Math.round(height * ratio);
  }

  /** The axis extent the timeline spans: the run so far, or further if the cursor is ahead. */
  get extent(): number {
    return this.#extent;
  }

  /** Bins the events and markers recorded since the last call. */
  #count(): void {
    const recording = this.#recording!;
    const { events, markers } = recording;
    for (; this.#counted < events.length; this.#counted++) this.#add('events', events[this.#counted]!.at);
    for (; this.#markersCounted < markers.length; this.#markersCounted++) {
      const marker = markers[this.#markersCounted]!;
      if (marker.kind === 'leader') this.#leaders.push(marker);
      else if (marker.kind === 'violation') this.#violations.push(marker);
      else this.#add('actions', events[marker.event]!.at);
    }
  }

  #add(series: 'events' | 'actions', at: number): void {
    let bin = Math.floor(at / this.#binSize);
    while (bin >= BINS) {
      // Twice as coarse, for both series alike.
      const halve = (values: number[]) =>
        Array.from({ length: BINS / 2 }, (_, i) => (values[2 * i] ?? 0) + (values[2 * i + 1] ?? 0));
      this.#bins = halve(this.#bins);
      this.#actions = halve(this.#actions);
      this.#binSize *= 2;
      bin = Math.floor(at / this.#binSize);
    }
    const bins = series === 'events' ? this.#bins : this.#actions;
    bins[bin] = (bins[bin] ?? 0) + 1;
  }

  draw(cursor: number): void {
    const recording = this.#recording;
    if (recording === undefined) return;
    this.#count();
    const context = this.#context;
    const { width, height } = this.#canvas;
    this.#extent = Math.max(1, recording.headAt, cursor);
    const x = (at: number): number => (at / this.#extent) * width;
    context.clearRect(0, 0, width, height);
    context.fillStyle = '#0b0f13';
    context.fillRect(0, 0, width, height);

    // Leaders: from each election to the next.
    const leaders = this.#leaders;
    leaders.forEach((marker, i) => {
      const start = recording.events[marker.event]!.at;
      const next = leaders[i + 1];
      const end = next === undefined ? recording.headAt : recording.events[next.event]!.at;
      context.fillStyle = termColor(marker.term ?? 0);
      context.fillRect(x(start), 0, Math.max(1, x(end) - x(start)), 6);
    });

    // Events per bin, scaled to the busiest bin.
    const peak = Math.max(1, ...this.#bins.filter((count) => count !== undefined));
    context.fillStyle = '#37506a';
    const barWidth = Math.max(1, x(this.#binSize));
    this.#bins.forEach((count, bin) => {
      if (!count) return;
      const barHeight = (count / peak) * (height - 16);
      context.fillRect(x(bin * this.#binSize), height - barHeight, barWidth, barHeight);
    });

    context.fillStyle = '#ffcc80';
    this.#actions.forEach((count, bin) => {
      if (!count) return;
      const at = x((bin + 0.5) * this.#binSize);
      context.beginPath();
      context.moveTo(at - 5, 8);
      context.lineTo(at + 5, 8);
      context.lineTo(at, 16);
      context.fill();
    });
    context.fillStyle = '#ef5350';
    for (const marker of this.#violations)
      context.fillRect(x(recording.events[marker.event]!.at) - 1.5, 0, 3, height);
    context.fillStyle = '#ffffff';
    context.fillRect(x(cursor) - 1, 0, 2, height);
  }
}
