/**
 * Internal invariants of the storage layer: a broken one is a bug in pureraft, and stopping beats writing a
 * wrong log. Never use it for input from outside (a corrupt file, a caller's bad effect): those get clear,
 * specific errors instead.
 */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}
