import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { status } from '../src/core/index.js';
import { scenarioArbitrary } from './arbitraries.js';
import { currentLeader } from './execute.js';
import { runScenario } from './run.js';

const N = Number(process.argv[2] ?? 300);
const size = Number(process.env.N ?? 5);
const scenarios = fc.sample(scenarioArbitrary(size), { numRuns: N, seed: Number(process.env.SEED ?? 21) });
scenarios.forEach((s, k) => {
  runScenario(s, {
    afterHistory: (c) => {
      c.heal();
      for (const id of c.ids) if (c.node(id).state === null) c.restart(id);
      const t0 = c.now;
      const stable = () => {
        const l = currentLeader(c);
        if (!l) return undefined;
        const t = status(c.node(l).state!).term;
        return c.states().length === c.ids.length &&
          c.states().every((x) => status(x).term === t && status(x).leaderId === l)
          ? l
          : undefined;
      };
      while (!stable() && c.now - t0 < 60000) c.runUntil(c.now + 10);
      const l = stable()!;
      c.propose(l, 'x');
      const index = status(c.node(l).state!).lastIndex;
      const t1 = c.now;
      while (!c.ids.every((id) => c.node(id).appliedIndex >= index) && c.now - t1 < 120000)
        c.runUntil(c.now + 10);
      const ratio = (c.now - t1 - 500) / (index * s.config.maxDelay);
      if (ratio > 3) {
        console.log(k, 'ratio', ratio.toFixed(1), 'index', index, 'ms', c.now - t1, JSON.stringify(s.config));
        writeFileSync(
          `/tmp/slow-${size}-${k}.json`,
          JSON.stringify({
            property: 'liveness',
            seed: 0,
            violation: { property: 'liveness', message: 'slow', step: 0 },
            ...s,
          }),
        );
      }
    },
  });
});
