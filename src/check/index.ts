/**
 * `pureraft/check`: a linearizability checker (Wing & Gong's search with Lowe's memoization, partitioned by
 * key), a key-value register model, and an HTML timeline of a history.
 */
export {
  type CheckOptions,
  type CheckResult,
  checkLinearizable,
  DEFAULT_BUDGET_MS,
  type PartitionReport,
  partitionHistory,
  type Verdict,
} from './check.js';
export { describeOperation, describeResult } from './describe.js';
export { type History, HistoryRecorder, historyProblem, isUnknown, type Operation } from './history.js';
export { type KvInput, type KvOperation, type KvOutput, type KvState, kvModel } from './kv-model.js';
export type { Model } from './model.js';
export { type SearchOptions, type SearchOutcome, type SearchResult, searchLinearization } from './search.js';
export { renderTimeline, type TimelineBand, type TimelineOptions } from './timeline.js';
export type { Failure } from './window.js';
