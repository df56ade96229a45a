/**
 * The cursor: which event the page shows (`event`) and where on the axis the messages are drawn (`at`, which
 * moves smoothly between events while playing). Play moves it at `rate` axis units per real second, running
 * a simulation on as it goes; step moves it one event; seek jumps anywhere already recorded.
 */
import type { Source } from './source.js';

/** Most of a frame a simulation may spend catching up with the cursor. */
const FRAME_BUDGET_MS = 8;

export class Player {
  event = 0;
  at = 0;
  playing = false;
  /** Axis units per real second. */
  rate = 1;
  /** Keep up with a recording that grows by itself (live mode): chase its newest event. */
  follow = false;

  constructor(readonly source: Source) {
    this.event = Math.max(0, source.recording.length - 1);
    this.at = source.recording.headAt;
  }

  get recording() {
    return this.source.recording;
  }

  /** Whether the cursor is behind the newest event. */
  get inPast(): boolean {
    return this.event < this.recording.length - 1;
  }

  tick(elapsedMs: number): void {
    if (this.follow) {
      const behind = this.recording.headAt - this.at;
      this.at += Math.max(0, Math.min(behind, Math.max((this.rate * elapsedMs) / 1000, behind * 0.1)));
    } else if (this.playing) {
      const target = this.at + (this.rate * elapsedMs) / 1000;
      const reached = target > this.recording.headAt ? this.source.extend(target, FRAME_BUDGET_MS) : target;
      this.at = Math.min(target, Math.max(reached, this.recording.headAt));
      // A recording that cannot grow ends the play at its last event.
      if (
        this.at >= this.recording.headAt &&
        reached <= this.recording.headAt &&
        this.source.kind !== 'simulation'
      ) {
        this.at = this.recording.headAt;
        this.playing = false;
      }
    }
    if (this.follow || this.playing) this.event = Math.max(0, this.recording.eventAt(this.at));
  }

  step(): void {
    this.playing = false;
    this.follow = false;
    if (this.inPast || this.source.stepOne()) this.seekEvent(this.event + 1);
  }

  seekEvent(event: number): void {
    const last = this.recording.length - 1;
    this.event = Math.max(0, Math.min(last, event));
    this.at = this.recording.events[this.event]?.at ?? 0;
  }

  seekAt(at: number): void {
    this.at = Math.max(0, Math.min(at, Math.max(this.recording.headAt, this.source.run?.time ?? 0)));
    this.event = Math.max(0, this.recording.eventAt(this.at));
  }
}
