/**
 * Seeded random inputs for the fuzzers: bytes that are pure noise, and valid inputs from a corpus mutated the
 * ways that find parser bugs (flipped bits, cut, doubled or shuffled ranges, boundary numbers where lengths
 * go, splices of two inputs, tokens of the format inserted anywhere). One seed gives one sequence, so a
 * failure reproduces from the seed and the input's number.
 */

/** mulberry32: small, fast, and good enough to drive a fuzzer. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.below(256);
    return out;
  }
}

/** Values that sit on the edges of length fields: zero, one, powers of two and their neighbours, all ones. */
const boundaries = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x7fff_ffff, 0xffff_ffff];

function boundaryBytes(random: Random): Uint8Array {
  const value = random.pick(boundaries);
  const width = random.pick([1, 2, 4]);
  const out = new Uint8Array(width);
  for (let i = 0; i < width; i++) out[width - 1 - i] = Math.floor(value / 256 ** i) % 256;
  return out;
}

/** One mutation of `input`; `tokens` are pieces of the format worth inserting (delimiters, keywords). */
export function mutateOnce(
  random: Random,
  input: Uint8Array,
  corpus: readonly Uint8Array[],
  tokens: readonly Uint8Array[],
): Uint8Array {
  const at = random.below(input.length + 1);
  const span = Math.min(input.length - at, 1 + random.below(16));
  const before = input.subarray(0, at);
  const after = input.subarray(at);
  switch (random.below(9)) {
    case 0: {
      const out = input.slice();
      if (out.length > 0) out[random.below(out.length)]! ^= 1 << random.below(8);
      return out;
    }
    case 1:
      return concat(before, after.subarray(span));
    case 2:
      return concat(before, random.bytes(1 + random.below(8)), after);
    case 3:
      return concat(before, after.subarray(0, span), after);
    case 4:
      return input.subarray(0, at);
    case 5:
      return concat(before, boundaryBytes(random), after.subarray(random.below(5)));
    case 6: {
      const other = random.pick(corpus);
      return concat(before, other.subarray(random.below(other.length + 1)));
    }
    case 7:
      return concat(before, random.pick(tokens), after);
    default: {
      // A piece repeated many times: long lines, deep nesting, many headers.
      const piece = random.pick(tokens);
      return concat(before, ...Array.from({ length: 1 + random.below(200) }, () => piece), after);
    }
  }
}

/**
 * Noise a quarter of the time, otherwise a corpus input with mutations: one or two half the time (to get
 * past the first checks and reach the deeper ones), up to eight otherwise.
 */
export function fuzzInput(
  random: Random,
  corpus: readonly Uint8Array[],
  tokens: readonly Uint8Array[],
): Uint8Array {
  if (random.below(4) === 0) return random.bytes(random.below(512));
  let input = random.pick(corpus);
  const mutations = 1 + random.below(random.below(2) === 0 ? 2 : 8);
  for (let n = mutations; n > 0; n--) input = mutateOnce(random, input, corpus, tokens);
  return input;
}

/** Half the time one of `valid` as it is, otherwise a fuzzed input: for fields that must mostly be right. */
export function mostlyValid(
  random: Random,
  valid: readonly Uint8Array[],
  tokens: readonly Uint8Array[],
): Uint8Array {
  return random.below(2) === 0 ? random.pick(valid) : fuzzInput(random, valid, tokens);
}

/** `bytes` cut at random places, as a socket would deliver them. */
export function chunks(random: Random, bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let start = 0; start < bytes.length; ) {
    const end = Math.min(bytes.length, start + 1 + random.below(random.below(2) === 0 ? 8 : 4096));
    out.push(bytes.subarray(start, end));
    start = end;
  }
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

/** What a fuzz run found: counts by outcome, failures with the input that caused them, the slowest input. */
export interface FuzzReport {
  readonly inputs: number;
  readonly outcomes: Record<string, number>;
  readonly failures: { readonly input: number; readonly problem: string }[];
  /** The slowest input, in ms (for a live run, where inputs overlap: the whole run). */
  readonly slowestMs: number;
  /** Heap growth over the run, after a collection when the process exposes `gc`. */
  readonly heapGrowthBytes: number;
}

export function count(outcomes: Record<string, number>, outcome: string): void {
  outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
}

export function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

/**
 * Runs `one` on inputs 0 to `inputs` - 1 in this process: it returns the outcomes to count, and throws for a
 * failure, which is recorded with the input's number.
 */
export function fuzzEach(inputs: number, one: (input: number) => readonly string[]): FuzzReport {
  const outcomes: Record<string, number> = {};
  const failures: FuzzReport['failures'] = [];
  let slowestMs = 0;
  const heapBefore = heapUsed();
  for (let input = 0; input < inputs; input++) {
    const startedAt = performance.now();
    try {
      for (const outcome of one(input)) count(outcomes, outcome);
    } catch (error) {
      failures.push({ input, problem: (error as Error).stack ?? String(error) });
    }
    slowestMs = Math.max(slowestMs, performance.now() - startedAt);
  }
  return { inputs, outcomes, failures, slowestMs, heapGrowthBytes: heapUsed() - heapBefore };
}
