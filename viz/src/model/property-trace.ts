/**
 * A failing property's trace (a shrunk counterexample, properties/trace.ts) played into a Recording: the same
 * history, on the same reducer (a mutant if it ran one), under the same safety checker, as `npm run replay`
 * does, with the step where a property broke marked.
 */
import { formatAction } from '../../../properties/format.js';
import { isMutantName, MUTANTS } from '../../../properties/mutants.js';
import { isPropertyKind } from '../../../properties/property-kind.js';
import { propertyOptions } from '../../../properties/property-options.js';
import { scenarioSteps } from '../../../properties/run.js';
import type { Command } from '../../../properties/scenario.js';
import type { Trace } from '../../../properties/trace.js';
import type { Cluster } from '../../../src/runtime/simulator/index.js';
import { cutLinks } from './links.js';
import { Recorder } from './recorder.js';
import { Recording } from './recording.js';

/** Whether a parsed JSON document looks like a property's trace (and not a node's). */
export function isPropertyTrace(value: unknown): value is Trace {
  if (typeof value !== 'object' || value === null) return false;
  const trace = value as Partial<Trace>;
  return (
    isPropertyKind(trace.property) &&
    Number.isSafeInteger(trace.size) &&
    typeof trace.config === 'object' &&
    Array.isArray(trace.actions) &&
    (trace.mutant === undefined || isMutantName(trace.mutant))
  );
}

export interface TracePlayer {
  /** Filled as `job` runs. */
  readonly recording: Recording<Command>;
  /**
   * Plays the trace, yielding the share of actions done so far now and then (for a progress bar); returns
   * whether the run broke what the trace says it broke, at the same action.
   */
  readonly job: Generator<number, boolean>;
}

export function playPropertyTrace(trace: Trace): TracePlayer {
  // Messages move from event to event: a history delivers, drops and duplicates them in any order at one instant.
  const recording = new Recording<Command>('events', 16);
  return { recording, job: play(trace, recording) };
}

function* play(trace: Trace, recording: Recording<Command>): Generator<number, boolean> {
  let cluster: Cluster<Command> | undefined;
  const recorder = new Recorder(recording, {
    clock: () => cluster?.now ?? 0,
    axis: 'events',
    crashLosesInFlight: false,
    lostSpan: 3,
  });
  const note = (node: string | null, text: string): void => {
    const event = recording.add({
      kind: 'action',
      node,
      text,
      time: cluster?.now ?? 0,
      at: recording.length,
    });
    recording.mark('action', event, text);
  };
  /** After an action: which messages it dropped or duplicated, which links it cut or healed. */
  const settle = (ran: Cluster<Command>): void => {
    recorder.reconcile(ran.inFlight);
    recording.links(recording.length - 1, cutLinks(ran));
  };
  const { onAction, afterHistory, ...options } = propertyOptions(trace.property, trace);
  const steps = scenarioSteps(trace, {
    ...options,
    ...(trace.mutant !== undefined && { reducer: MUTANTS[trace.mutant] }),
    observer: recorder,
    onAction: (action, position, world) => {
      note(
        'node' in action && action.node !== 'leader' ? action.node : null,
        `#${position} ${formatAction(action)}`,
      );
      onAction?.(action, position, world);
    },
    ...(afterHistory && {
      afterHistory: (world) => {
        note(null, `${trace.property}: after the history`);
        afterHistory(world);
      },
    }),
  });
  for (let done = 0; ; done++) {
    const next = steps.next();
    if (next.done) {
      if (cluster !== undefined) settle(cluster);
      const violation = next.value;
      if (violation !== undefined) {
        const event = Math.max(0, recording.length - 1);
        recording.violation = { property: violation.property, message: violation.message, event };
        recording.mark('violation', event, violation.message);
      }
      recording.finished = true;
      return violation?.message === trace.violation.message && violation.step === trace.violation.step;
    }
    cluster = next.value;
    settle(cluster);
    yield done / Math.max(1, trace.actions.length);
  }
}
