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

export interface SimulationOptions {
  readonly clients: number;
  readonly keys: number;
  readonly operations: number;
  /** Longest time an operation takes; its effect happens at a random point inside. */
  readonly maxLatency: number;
  /** Chance that a write's outcome is unknown to its client (it then took effect or not, at random). */
  readonly unknownRate: number;
}

/** A small seeded generator (mulberry32). */
function generator(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4_294_967_296) * n);
  };
}

/**
 * A linearizable history by construction: clients issue operations one at a time with random latencies, each
 * takes effect at a random point inside its interval, and the outputs come from executing them in the order of
 * those points on a real map. Values written are unique.
 */
export function simulatedHistory(seed: number, options: SimulationOptions): KvOperation[] {
  const random = generator(seed);
  const free = Array.from({ length: options.clients }, () => random(3));
  const lastWritten = new Map<string, string | null>();
  const planned: { operation: KvOperation; point: number; happens: boolean; unknown: boolean }[] = [];
  for (let n = 0; n < options.operations; n++) {
    const client = free.indexOf(Math.min(...free));
    const invoked = free[client]!;
    const latency = 1 + random(options.maxLatency);
    const completed = invoked + latency;
    free[client] = completed + 1 + random(3); // a client's operations never touch
    const key = `k${random(options.keys)}`;
    const roll = random(100);
    const input: KvInput =
      roll < 45
        ? { op: 'get', key }
        : roll < 80
          ? { op: 'put', key, value: `v${n}` }
          : roll < 92
            ? {
                op: 'cas',
                key,
                expected: random(3) === 0 ? null : (lastWritten.get(key) ?? null),
                value: `v${n}`,
              }
            : { op: 'delete', key };
    if (input.op === 'put' || input.op === 'cas') lastWritten.set(key, input.value);
    const unknown = input.op !== 'get' && random(1000) < options.unknownRate * 1000;
    planned.push({
      operation: { client, input, invoked, completed },
      point: invoked + (random(1000) / 1000) * latency,
      happens: !unknown || random(2) === 0,
      unknown,
    });
  }
  const store = new Map<string, string>();
  const byPoint = [...planned].sort((a, b) => a.point - b.point);
  const outputs = new Map<KvOperation, KvOutput>();
  for (const { operation, happens } of byPoint) {
    if (!happens) continue;
    const { input } = operation;
    const current = store.get(input.key) ?? null;
    const set = (value: string | null) =>
      value === null ? store.delete(input.key) : store.set(input.key, value);
    if (input.op === 'get') outputs.set(operation, { value: current });
    else if (input.op === 'put') {
      outputs.set(operation, { previous: current });
      set(input.value);
    } else if (input.op === 'delete') {
      outputs.set(operation, { deleted: current !== null });
      set(null);
    } else if (current === input.expected) {
      outputs.set(operation, { swapped: true });
      set(input.value);
    } else outputs.set(operation, { swapped: false, current });
  }
  return planned.map(({ operation, unknown }) => {
    if (unknown) return { client: operation.client, input: operation.input, invoked: operation.invoked };
    return { ...operation, output: outputs.get(operation)! };
  });
}
