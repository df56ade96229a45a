/**
 * One seed per `vitest` run (its globalSetup). Each test file runs in a worker of its own, and each used to draw
 * its own seed from the clock, so one run printed several and no one seed reproduced it. Set here once, before
 * any worker starts, the properties and the fault suite all use (and print) the same PROPERTY_SEED and
 * FAULT_SEED; setting them reproduces the run. A seed given in the environment is kept.
 */
export default function setup(): void {
  const clockSeed = String(Date.now() % 2 ** 31);
  process.env.PROPERTY_SEED ||= clockSeed;
  process.env.FAULT_SEED ||= clockSeed;
  console.log(
    `seeds of this run: PROPERTY_SEED=${process.env.PROPERTY_SEED} FAULT_SEED=${process.env.FAULT_SEED}`,
  );
}
