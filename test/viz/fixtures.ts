/** What the visualizer's tests open: real nodes' traces, and a shrunk counterexample from a broken reducer. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkProperty } from '../../properties/property.js';
import type { Trace } from '../../properties/trace.js';
import { TestCluster } from '../../src/runtime/node/test-support.js';

/**
 * A three-node run of real RaftNodes (in one process, on a manual clock) recorded with --trace: an election,
 * a follower cut off while the others commit without it, then back and repaired. Returns each node's trace
 * file, by name.
 */
export async function recordNodeTraces(dir: string): Promise<{ files: { name: string; text: string }[] }> {
  const cluster = new TestCluster(['a', 'b', 'c'], (id) => ({ tracePath: join(dir, `${id}.trace`) }));
  await cluster.start();
  const leader = await cluster.leader();
  const follower = cluster.ids.find((id) => id !== leader.node.id)!;
  cluster.network.isolate(follower);
  for (const command of ['x', 'y', 'z']) {
    const applied = leader.node.propose(command);
    await cluster.run(50);
    await applied;
  }
  cluster.network.heal();
  await cluster.run(500);
  await cluster.stop();
  const names = (await readdir(dir)).filter((name) => name.endsWith('.trace')).sort();
  const files = await Promise.all(
    names.map(async (name) => ({ name, text: await readFile(join(dir, name), 'utf8') })),
  );
  return { files };
}

/**
 * A safety counterexample found by the properties against the reducer that grants votes to any log (no
 * election restriction), shrunk for at most `shrinkMs`. The seed is fixed: this one is found within a few
 * histories, so only the shrinking depends on how fast the machine is.
 */
export function counterexample(shrinkMs = 4_000): Trace {
  const outcome = checkProperty({
    property: 'safety',
    size: 3,
    runs: 2_000,
    seed: 1,
    mutant: 'votes-for-any-log',
    timeLimitMs: shrinkMs,
  });
  if (outcome.failure === undefined) throw new Error('the mutant was not caught: no counterexample to show');
  return outcome.failure.trace;
}
