import { checkProperty } from './property.js';

const [property, mutant, size, runs] = process.argv.slice(2);
for (const seed of [1, 2, 3, 4, 5]) {
  const t = Date.now();
  const o = checkProperty({
    property: property as any,
    size: Number(size),
    runs: Number(runs),
    seed: seed * 1000,
    mutant: mutant as any,
    shrink: false,
  });
  console.log(
    mutant,
    size,
    'seed',
    seed * 1000,
    o.failure
      ? `caught after ${o.runs}: ${o.failure.trace.violation.message.slice(0, 150)}`
      : `held ${o.runs}`,
    `${Date.now() - t} ms`,
  );
}
