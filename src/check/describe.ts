/** Plain-text reports of a check, for terminals and failure folders. */
import type { CheckResult } from './check.js';
import type { Operation } from './history.js';
import type { Model } from './model.js';

/** One operation: its client, its times and what the model's `describe` (or JSON) says it did. */
export function describeOperation<I, O>(
  model: Model<unknown, I, O>,
  operation: Operation<I, O>,
  origin = 0,
): string {
  const output = operation.completed === undefined ? undefined : operation.output;
  const what =
    model.describe?.(operation.input, output) ??
    `${JSON.stringify(operation.input)} → ${output === undefined ? '?' : JSON.stringify(output)}`;
  const end = operation.completed === undefined ? '…' : (operation.completed - origin).toFixed(1);
  return `[${(operation.invoked - origin).toFixed(1)}, ${end}] client ${operation.client}: ${what}`;
}

/** The verdict, the partitions that failed or ran out of time, and the failure's window. */
export function describeResult<I, O>(
  model: Model<unknown, I, O>,
  result: CheckResult<I, O>,
  origin = 0,
): string {
  const lines = [
    `${result.verdict}: ${result.operations} operations in ${result.partitions.length} partitions, ${result.elapsedMs.toFixed(0)} ms`,
  ];
  for (const p of result.partitions.filter((p) => p.verdict !== 'linearizable'))
    lines.push(
      `  partition ${JSON.stringify(p.partition)}: ${p.verdict} (${p.operations} operations, ${p.steps} steps)`,
    );
  const { failure } = result;
  if (failure !== undefined) {
    const from = failure.fromInit
      ? 'from the initial state'
      : `from any state the earlier operations could leave (${failure.startStates.map((s) => JSON.stringify(s)).join(', ')})`;
    lines.push(
      `partition ${JSON.stringify(failure.partition)}: these ${failure.window.length} operations admit no linearization ${from}${failure.verified ? ' (re-verified by the plain search)' : ' (not re-verified: the plain search ran out of steps)'}:`,
    );
    for (const operation of failure.window) {
      const mark = operation === failure.culprit ? '  ← cannot be linearized' : '';
      lines.push(`  ${describeOperation(model, operation, origin)}${mark}`);
    }
  }
  return lines.join('\n');
}
