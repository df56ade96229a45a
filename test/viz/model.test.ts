/**
 * The visualizer's model, without a browser: a simulation replays exactly from its setup and tape (so links
 * and forks show the same run), the messages it draws in the air are the simulator's, traces play into the
 * states the core produces, and a counterexample's broken property is found at the step that broke it.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { judge } from '../../properties/property.js';
import { status } from '../../src/core/index.js';
import { replay } from '../../src/runtime/node/replay.js';
import { parseTrace, TRACE_VERSION } from '../../src/runtime/node/trace.js';
import { decodeLink, encodeLink } from '../../viz/src/model/link.js';
import { TraceMerger, UNMATCHED_SPAN } from '../../viz/src/model/node-traces.js';
import { playPropertyTrace } from '../../viz/src/model/property-trace.js';
import type { Recording } from '../../viz/src/model/recording.js';
import { type RunSetup, replayRun, SimRun } from '../../viz/src/model/sim-run.js';
import { playTraceFiles, READABLE_TRACE_VERSION, TraceLines } from '../../viz/src/model/trace-lines.js';
import { viewAt } from '../../viz/src/model/view.js';
import { counterexample, recordNodeTraces } from './fixtures.js';

const SETUP: RunSetup = {
  nodes: 5,
  seed: 11,
  knobs: { loss: 0.05, duplicate: 0.05, delay: 30, load: 20, compactEvery: 10 },
};

function drain<R>(job: Generator<unknown, R>): R {
  for (;;) {
    const next = job.next();
    if (next.done) return next.value;
  }
}

/** Every event, and each node's status after it, as text: two recordings of the same run are equal here. */
function transcript(recording: Recording<unknown>, upTo = recording.length): string[] {
  return recording.events.slice(0, upTo).map((event, index) => {
    const nodes = recording.ids.map((id) => {
      const state = recording.nodeAt(id, index)?.state;
      return state == null ? `${id}:down` : JSON.stringify(status(state));
    });
    const what =
      event.kind === 'step' ? JSON.stringify(event.event) : event.kind === 'action' ? event.text : '';
    return `${event.kind} ${event.node} ${event.at} ${what} | ${nodes.join(' ')}`;
  });
}

/** A run with something of everything: load, faults, a crash of the leader, a cut link, a restart. */
function busyRun(): SimRun {
  const run = new SimRun(SETUP);
  const items = (count: number) => {
    for (let i = 0; i < count; i++) run.stepItem();
  };
  items(400);
  const leader = run.leader!;
  run.apply({ type: 'crash', node: leader });
  items(300);
  run.apply({ type: 'cut', a: 'n1', b: 'n2' });
  run.apply({ type: 'knob', knob: 'loss', value: 0.2 });
  run.advanceTo(run.time + 500);
  run.apply({ type: 'restart', node: leader });
  run.apply({ type: 'heal', a: 'n1', b: 'n2' });
  items(300);
  return run;
}

describe('a simulation', () => {
  it('replays event for event from its setup and tape, through a link', () => {
    const run = busyRun();
    const link = decodeLink(
      encodeLink({ setup: run.setup, tape: run.tape, at: { item: run.items, time: run.time } }),
    )!;
    expect(link.setup).toEqual(run.setup);
    expect(link.tape).toEqual(run.tape);
    const again = drain(replayRun(link.setup, link.tape, link.at));
    expect(again.items).toBe(run.items);
    expect(transcript(again.recording)).toEqual(transcript(run.recording));
  });

  it('takes actions at fractional times through a link: the point of a time is not a separator', () => {
    // A user acts between two events, at a time a message's delay made fractional.
    const tape = [
      { item: 12, time: 1530.25, action: { type: 'crash', node: 'n3' } },
      { item: 40, time: 2100.5, action: { type: 'knob', knob: 'loss', value: 0.1 } },
      { item: 41, time: 2100, action: { type: 'cut', a: 'n1', b: 'n2' } },
      { item: 90, time: 3000.125, action: { type: 'propose' } },
    ] as const;
    const at = { item: 120, time: 4000.75 };
    const link = decodeLink(encodeLink({ setup: SETUP, tape, at }))!;
    expect(link.tape).toEqual(tape);
    expect(link.at).toEqual(at);
    // Links made before keep their meaning.
    expect(decodeLink('#seed=1&tape=3.40.knob.loss.0.2~5.50.crash.n1&at=9.60')).toMatchObject({
      tape: [
        { item: 3, time: 40, action: { type: 'knob', knob: 'loss', value: 0.2 } },
        { item: 5, time: 50, action: { type: 'crash', node: 'n1' } },
      ],
      at: { item: 9, time: 60 },
    });
  });

  it('forks at any event: the new run holds the same past up to there', () => {
    const run = busyRun();
    for (const event of [5, Math.floor(run.recording.length / 3), run.recording.length - 2]) {
      const { tape, until } = run.prefix(event);
      const fork = drain(replayRun(run.setup, tape, until));
      const length = fork.recording.length;
      expect(length).toBeLessThanOrEqual(event + 1);
      expect(length).toBeGreaterThan(event - 20);
      expect(transcript(fork.recording)).toEqual(transcript(run.recording, length));
    }
  });

  it('draws in the air exactly the messages the simulator has in flight', () => {
    const run = new SimRun({ ...SETUP, knobs: { ...SETUP.knobs, delay: 200, load: 100 } });
    for (let item = 0; item < 3000; item++) {
      run.stepItem();
      if (item % 97 !== 0) continue;
      const view = viewAt(run.recording, run.recording.length - 1, run.time);
      const drawn = view.flights.filter((flight) => flight.fate !== 'lost').map((flight) => flight.message);
      const inFlight = run.sim.cluster.inFlight
        .filter((envelope) => envelope.deliverAt > run.time)
        .map((e) => e.message);
      expect(new Set(drawn)).toEqual(new Set(inFlight));
      expect(drawn.length).toBe(inFlight.length);
    }
  });
});

describe('traces', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pureraft-viz-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("real nodes' traces play into the states the core produced, every message received after it was sent", async () => {
    const { files } = await recordNodeTraces(dir);
    const traces = files.map(({ name, text }) => ({ name, trace: parseTrace<unknown>(text, name) }));
    const merger = new TraceMerger();
    // In any order: the merger puts each node's files in name order itself.
    expect(drain(playTraceFiles(merger, [...files].reverse()))).toEqual([]);
    const recording = merger.recording;
    for (const { trace } of traces) {
      const last = [...replay(trace)].at(-1)!;
      expect(recording.latest(trace.start.config.id)?.state).toEqual(last.state);
    }
    const steps = recording.events.filter((event) => event.kind === 'step');
    expect(steps.length).toBe(traces.reduce((sum, { trace }) => sum + trace.events.length, 0));
    // Every receive found the send it answers, earlier (the in-memory network loses nothing).
    const receives = steps.filter((event) => event.kind === 'step' && event.event.type === 'receive');
    expect(receives.length).toBeGreaterThan(20);
    let matched = 0;
    for (let position = 0; position <= recording.headAt; position++) {
      for (const flight of recording.flightsAt(position, position)) {
        if (
          flight.receivedBy === undefined ||
          flight.sentBy === Math.max(0, flight.receivedBy - UNMATCHED_SPAN)
        )
          continue;
        expect(flight.sentBy).toBeLessThan(flight.receivedBy);
        expect(recording.events[flight.sentBy]?.node).toBe(flight.message.from);
        expect(recording.events[flight.receivedBy]?.node).toBe(flight.message.to);
        matched++;
      }
    }
    expect(matched).toBeGreaterThan(20);
  });

  it('live lines given again after a reconnect are played once; a gap is refused', async () => {
    const again = join(dir, 'reconnect');
    await mkdir(again);
    const { files } = await recordNodeTraces(again);
    const played = (feed: (reader: TraceLines, name: string, lines: string[]) => void) => {
      const merger = new TraceMerger();
      const reader = new TraceLines(merger);
      for (const { name, text } of files) feed(reader, name, text.split('\n').slice(0, -1));
      while (merger.run(1000, true) > 0);
      return transcript(merger.recording);
    };
    const once = played((reader, name, lines) => reader.add(name, lines));
    // The server starts again from line 1 after the page reconnects, and again from some later line.
    const repeated = played((reader, name, lines) => {
      reader.add(name, lines.slice(0, 7), 1);
      reader.add(name, lines, 1);
      reader.add(name, lines.slice(3), 4);
    });
    expect(repeated).toEqual(once);
    const reader = new TraceLines(new TraceMerger());
    const { name, text } = files[0]!;
    const lines = text.split('\n');
    reader.add(name, lines.slice(0, 2), 1);
    expect(() => reader.add(name, lines.slice(4, 6), 5)).toThrow(/a gap/);
  });

  it('reads the trace version that nodes write', () => {
    expect(READABLE_TRACE_VERSION).toBe(TRACE_VERSION);
  });

  it('a counterexample shows the property the checker finds broken, at the step that broke it', () => {
    const trace = counterexample(2_000);
    const expected = judge('safety', trace, trace.mutant)!;
    const player = playPropertyTrace(trace);
    const reproduced = drain(player.job);
    expect(reproduced).toBe(
      expected.message === trace.violation.message && expected.step === trace.violation.step,
    );
    const violation = player.recording.violation!;
    expect(violation.property).toBe(expected.property);
    expect(violation.message).toBe(expected.message);
    // The last event recorded is the transition that broke it: the checker throws right after it.
    expect(violation.event).toBe(player.recording.length - 1);
    // And it lies within the action that the checker names.
    const actions = player.recording.events.filter((event) => event.kind === 'action');
    expect(actions.at(-1)?.kind === 'action' && actions.at(-1)!.text.startsWith(`#${expected.step} `)).toBe(
      true,
    );
  });
});
