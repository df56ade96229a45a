export {
  Cluster,
  type ClusterObserver,
  type ClusterOptions,
  type ClusterStats,
  type Envelope,
  type ReadAnswer,
  type Reducer,
  SafetyViolation,
  type SimNode,
} from './cluster.js';
export { Random } from './random.js';
export {
  type Faults,
  LONG_REORDERING,
  RELIABLE,
  Simulator,
  type SimulatorOptions,
  UNRELIABLE,
} from './simulator.js';
