/**
 * The long run: far more random histories than `npm test` runs, for a night or a CI job.
 *
 *   PROPERTY_RUNS=100000 npx tsx properties/long-run.ts [liveness|safety|rejoin|stale]
 *
 * PROPERTY_RUNS is the total number of histories (default 100,000), run in chunks of CHUNK on each cluster
 * size in turn (PROPERTY_SIZES, default 3,5,7). Chunk i uses seed PROPERTY_SEED + i, so a failing chunk can be
 * rerun alone: the failure message says how. The default property, liveness, also checks every safety
 * property after every step; `safety` skips the liveness phase and runs faster; `rejoin` runs the targeted
 * pre-vote histories (rejoin.ts; use PROPERTY_SIZES=3,5), `stale` the targeted histories of late answers
 * (stale.ts).
 * One process uses one core: on more cores, start one per core with different PROPERTY_SEEDs.
 * Stops at the first failure, writes its trace, and exits with 1.
 */
import { propertyRuns, propertySeed, traceDirectory } from './env.js';
import { checkProperty, describeFailure, type PropertyRun } from './property.js';
import { PROPERTY_KINDS, type PropertyKind } from './property-kind.js';

const CHUNK = 1_000;

function sizes(): number[] {
  const text = process.env.PROPERTY_SIZES ?? '3,5,7';
  const list = text.split(',').map(Number);
  if (list.some((size) => !Number.isSafeInteger(size) || size < 1))
    throw new RangeError(`bad PROPERTY_SIZES: ${text}`);
  return list;
}

function main(args: readonly string[]): number {
  const property: PropertyKind = PROPERTY_KINDS.find((kind) => args.includes(kind)) ?? 'liveness';
  const total = propertyRuns(100_000);
  const base = propertySeed();
  const sizeList = sizes();
  const started = Date.now();
  console.log(`${property}: ${total} histories on ${sizeList.join('/')} nodes, PROPERTY_SEED=${base}`);
  for (let chunk = 0, done = 0; done < total; chunk++) {
    const size = sizeList[chunk % sizeList.length]!;
    const run: PropertyRun = {
      property,
      size,
      runs: Math.min(CHUNK, total - done),
      seed: base + chunk,
      traceDirectory: traceDirectory(),
    };
    const outcome = checkProperty(run);
    done += outcome.runs;
    if (outcome.failure !== undefined) {
      console.log(describeFailure(run, outcome));
      console.log(
        `  rerun this chunk: PROPERTY_SEED=${run.seed} PROPERTY_RUNS=${run.runs} PROPERTY_SIZES=${size} npx tsx properties/long-run.ts ${property}`,
      );
      return 1;
    }
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    console.log(
      `chunk ${chunk}: ${run.runs} histories on ${size} nodes held (seed ${run.seed}); ${done}/${total} in ${minutes} min`,
    );
  }
  console.log(`all ${total} histories held`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
