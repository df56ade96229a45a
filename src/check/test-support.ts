/** Compact builders of key-value histories for the checker's tests and benchmark. */
import type { KvInput, KvOperation, KvOutput } from './kv-model.js';

/** An operation by `client` over [invoked, completed]; `completed` null: unknown outcome. */
function op(
  client: number,
  input: KvInput,
  invoked: number,
  completed: number | null,
  output?: KvOutput,
): KvOperation {
  return completed === null
    ? { client, input, invoked }
    : { client, input, invoked, completed, output: output ?? {} };
}

export const put = (client: number, key: string, value: string, invoked: number, completed: number | null) =>
  op(client, { op: 'put', key, value }, invoked, completed);

export const get = (client: number, key: string, value: string | null, invoked: number, completed: number) =>
  op(client, { op: 'get', key }, invoked, completed, { value });

export const del = (client: number, key: string, invoked: number, completed: number | null) =>
  op(client, { op: 'delete', key }, invoked, completed);

export const cas = (
  client: number,
  key: string,
  expected: string | null,
  value: string | null,
  invoked: number,
  completed: number | null,
  swapped = true,
) => op(client, { op: 'cas', key, expected, value }, invoked, completed, { swapped });
