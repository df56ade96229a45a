/**
 * Runs a scenario in a fresh world (world.ts) with the safety checker watching every transition, and reports
 * the first property broken, with the position of the action that broke it. Deterministic: the same scenario
 * and reducer always give the same outcome, which is what makes traces replayable.
 */
import { type Cluster, SafetyViolation } from '../src/runtime/simulator/index.js';
import { execute } from './execute.js';
import type { Action, Command, Scenario } from './scenario.js';
import { type PropertyName, PropertyViolation } from './violation.js';
import { World, type WorldOptions } from './world.js';

export interface Violation {
  readonly property: PropertyName;
  readonly message: string;
  /** Position of the action during which it broke; -1 while starting the cluster, `actions.length` after the history. */
  readonly step: number;
}

export interface RunOptions extends WorldOptions {
  /** Called before each action is carried out. */
  readonly onAction?: (action: Action, position: number, world: World) => void;
  /** Runs after the history, in the same world, under the same checker (the liveness phase). */
  readonly afterHistory?: (world: World) => void;
}

export function runScenario(scenario: Scenario, options: RunOptions = {}): Violation | undefined {
  const steps = scenarioSteps(scenario, options);
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/**
 * `runScenario` one action at a time: yields the cluster once it is built and again after each action, so that
 * a caller can look at it between actions or spread a long history over time (the visualizer loads big traces
 * this way without freezing its page); returns what `runScenario` returns.
 */
export function* scenarioSteps(
  scenario: Scenario,
  options: RunOptions = {},
): Generator<Cluster<Command>, Violation | undefined> {
  let step = -1;
  try {
    const world = new World(scenario, options);
    yield world.cluster;
    for (step = 0; step < scenario.actions.length; step++) {
      const action = scenario.actions[step]!;
      options.onAction?.(action, step, world);
      execute(world, action, step);
      yield world.cluster;
    }
    options.afterHistory?.(world);
    return undefined;
  } catch (error) {
    return { ...classify(error), step };
  }
}

function classify(error: unknown): { property: PropertyName; message: string } {
  if (error instanceof PropertyViolation) return { property: error.property, message: error.message };
  if (error instanceof SafetyViolation) return { property: 'state machine safety', message: error.message };
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { property: 'no exception', message };
}
