/**
 * What each property adds to a plain run's safety checks. Apart from property.ts (fast-check, traces on disk)
 * so that the visualizer can replay a property's trace in the page under the same checks.
 */
import { checkLiveness, livenessChanges } from './liveness.js';
import { RejoinWatch } from './rejoin.js';
import type { RunOptions } from './run.js';
import type { Scenario } from './scenario.js';
import type { PropertyKind } from './trace.js';

/** What a property adds to the safety checks of a plain run: the liveness phase, or the rejoin watch. */
export function propertyOptions(
  property: PropertyKind,
  scenario: Scenario,
): Pick<RunOptions, 'onAction' | 'afterHistory' | 'changes'> {
  switch (property) {
    case 'safety':
    case 'stale':
      return {};
    case 'liveness':
      return {
        afterHistory: (world) => checkLiveness(world, scenario.config),
        changes: livenessChanges(scenario.config),
      };
    case 'rejoin': {
      const watch = new RejoinWatch();
      return {
        onAction: (action, _position, world) => watch.onAction(action, world.cluster),
        afterHistory: (world) => watch.afterHistory(world.cluster),
      };
    }
  }
}
