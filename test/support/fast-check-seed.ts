/**
 * Each test file's setup (vitest's setupFiles): every fast-check property that does not pass a seed of its own
 * runs on the run's PROPERTY_SEED (run-seeds.ts), so that the one seed printed reproduces those too.
 */
import fc from 'fast-check';

const seed = Number(process.env.PROPERTY_SEED);
if (Number.isSafeInteger(seed)) fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
