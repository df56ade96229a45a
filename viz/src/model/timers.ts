/** A node's armed timers, with when each was armed (for the draining arcs), kept from its effects. */
import type { Effect } from '../../../src/core/index.js';
import type { TimerView } from './recording.js';

const NONE: readonly TimerView[] = [];

/**
 * The timers after `effects` ran at virtual time `now` (contract 5: one per name; `setTimer` replaces, a
 * crash loses them all; one that `fired` is disarmed). Returns `timers` itself when nothing changed, so
 * that frames share it.
 */
export function nextTimers<C>(
  timers: readonly TimerView[],
  effects: readonly Effect<C>[],
  now: number,
  fired?: string,
): readonly TimerView[] {
  let next = fired === undefined ? timers : timers.filter((timer) => timer.name !== fired);
  for (const effect of effects) {
    if (effect.type === 'setTimer') {
      const armed = { name: effect.timer, armedAt: now, dueAt: now + effect.delay };
      next = [...next.filter((timer) => timer.name !== effect.timer), armed];
    } else if (effect.type === 'cancelTimer') {
      next = next.filter((timer) => timer.name !== effect.timer);
    }
  }
  return next.length === 0 ? NONE : next;
}

export const noTimers = NONE;
