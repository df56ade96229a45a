/**
 * Which seeds the lab suite runs, from the environment:
 *   LAB_SEED=1234   that seed alone (to reproduce a failure exactly);
 *   LAB_SEEDS=200   seeds 1..200 (a long hunt);
 *   neither         seeds 1..3 (what `npm test` runs).
 * And LAB_PAPER=1 runs the paper's Raft (pre-vote and check-quorum off; harness.ts), as the lab's own is.
 */
const DEFAULT_SEEDS = 3;

function parseSeed(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  }
  return value;
}

export interface SeedChoice {
  readonly seeds: readonly number[];
  /** How to say it in a summary line: "seed 1234", "seeds 1..200". */
  readonly label: string;
}

export function labSeeds(env: NodeJS.ProcessEnv = process.env): SeedChoice {
  if (env.LAB_SEED !== undefined) {
    const seed = parseSeed('LAB_SEED', env.LAB_SEED);
    return { seeds: [seed], label: `seed ${seed}` };
  }
  const count = env.LAB_SEEDS === undefined ? DEFAULT_SEEDS : parseSeed('LAB_SEEDS', env.LAB_SEEDS);
  return { seeds: Array.from({ length: count }, (_, i) => i + 1), label: `seeds 1..${count}` };
}
