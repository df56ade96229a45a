/**
 * Internal invariants (TigerBeetle style): a broken one means a bug in pureraft, and stopping is better than
 * corrupting a replicated log. Never use this for input from outside: the core drops bad messages instead.
 */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

export function invariant(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantError(typeof message === 'string' ? message : message());
}
