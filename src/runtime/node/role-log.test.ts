/**
 * The leadership log: a line for each change of role, term or leader, saying why (role-log.ts), and nothing
 * while the cluster runs steadily.
 */
import { describe, expect, it } from 'vitest';
import { TestCluster } from './test-support.js';

const ids = ['a', 'b', 'c'];

function loggingCluster() {
  const lines = new Map<string, string[]>(ids.map((id) => [id, []]));
  const cluster = new TestCluster(ids, (id) => ({ logLeadership: (line) => lines.get(id)!.push(line) }));
  return { cluster, lines };
}

describe('the leadership log', () => {
  it('says who campaigned and why, who won, and whom the others follow; then nothing while all is well', async () => {
    const { cluster, lines } = loggingCluster();
    await cluster.start();
    const leader = await cluster.leader();
    await cluster.run(200);
    const id = leader.node.id;
    const { term } = leader.node.status();
    expect(lines.get(id)).toEqual([
      `pre-vote for term ${term} (no leader heard for an election timeout)`,
      expect.stringMatching(
        new RegExp(`^campaigning in term ${term} \\(PreVoteResponse from [bc] in term ${term}\\)$`),
      ),
      `became leader in term ${term}`,
    ]);
    for (const other of ids.filter((o) => o !== id)) {
      expect(lines.get(other)!.at(-1)).toBe(`following ${id} in term ${term}`);
    }
    const before = ids.map((o) => lines.get(o)!.length);
    await cluster.run(1_000);
    expect(ids.map((o) => lines.get(o)!.length)).toEqual(before);
    await cluster.stop();
  });

  it('says when a leader steps down for want of a majority (check-quorum)', async () => {
    const { cluster, lines } = loggingCluster();
    await cluster.start();
    const leader = await cluster.leader();
    const { term } = leader.node.status();
    cluster.network.isolate(leader.node.id);
    await cluster.run(1_000);
    expect(lines.get(leader.node.id)).toContain(
      `stepped down in term ${term}: no majority heard within an election timeout (check-quorum)`,
    );
    await cluster.stop();
  });
});
