/**
 * Runs a scenario on a fresh cluster with the safety checker watching every transition, and reports the
 * first property broken, with the position of the action that broke it. Deterministic: the same scenario
 * and reducer always give the same outcome, which is what makes traces replayable.
 */
import {
  Cluster,
  type ClusterObserver,
  Random,
  type Reducer,
  SafetyViolation,
} from '../src/runtime/simulator/index.js';
import { SafetyChecker } from './checker.js';
import { execute } from './execute.js';
import { combine } from './observers.js';
import { type Action, type Command, nodeConfig, nodeIds, type Scenario } from './scenario.js';
import { type PropertyName, PropertyViolation } from './violation.js';

export interface Violation {
  readonly property: PropertyName;
  readonly message: string;
  /** Position of the action during which it broke; -1 while starting the cluster, `actions.length` after the history. */
  readonly step: number;
}

export interface RunOptions {
  /** The reducer under test; the real core by default. */
  readonly reducer?: Reducer<Command>;
  /** Sees every transition before the checker does (replay prints with it). */
  readonly observer?: ClusterObserver<Command>;
  /** Called before each action is carried out. */
  readonly onAction?: (action: Action, position: number) => void;
  /** Runs after the history, on the same cluster, under the same checker (the liveness phase). */
  readonly afterHistory?: (cluster: Cluster<Command>) => void;
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
    const observers = [options.observer, new SafetyChecker(scenario.size)].filter((o) => o !== undefined);
    const delays = new Random(scenario.config.seed);
    const cluster = new Cluster<Command>({
      ids: nodeIds(scenario.size),
      config: (id, incarnation) => nodeConfig(scenario, id, incarnation),
      observer: combine(...observers),
      delays: () => [delays.int(1, scenario.config.maxDelay + 1)],
      // Byte counters are of no interest here, and measuring them would cost a JSON text per message.
      messageSize: () => 0,
      // Fault injection is the history's job: a crash must not take back what a node already sent.
      crashKeepsInFlight: true,
      ...(options.reducer && { reducer: options.reducer }),
    });
    yield cluster;
    for (step = 0; step < scenario.actions.length; step++) {
      const action = scenario.actions[step]!;
      options.onAction?.(action, step);
      execute(cluster, action, step);
      yield cluster;
    }
    options.afterHistory?.(cluster);
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
