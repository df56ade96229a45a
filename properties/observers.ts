/** Several cluster observers as one, called in the order given. */
import type { ClusterObserver } from '../src/runtime/simulator/index.js';

export function combine<C>(...observers: readonly ClusterObserver<C>[]): ClusterObserver<C> {
  return {
    transition: (...args) => {
      for (const observer of observers) observer.transition?.(...args);
    },
    applied: (...args) => {
      for (const observer of observers) observer.applied?.(...args);
    },
    restored: (...args) => {
      for (const observer of observers) observer.restored?.(...args);
    },
    read: (...args) => {
      for (const observer of observers) observer.read?.(...args);
    },
    sent: (...args) => {
      for (const observer of observers) observer.sent?.(...args);
    },
    crashed: (...args) => {
      for (const observer of observers) observer.crashed?.(...args);
    },
    restarted: (...args) => {
      for (const observer of observers) observer.restarted?.(...args);
    },
  };
}
