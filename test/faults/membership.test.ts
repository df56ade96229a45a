/**
 * A member removed and added back through the admin API (the membership faults' path, membership.ts) is reached
 * through the proxies again: adding it records its real address in the replicated address book, and the
 * suite's nodes must still dial it through the proxy of each link (their --route), or partitions would stop
 * cutting it off.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poll, sleep, TortureCluster } from '../../src/check/torture/cluster.js';
import { addBack, removeMember } from '../../src/check/torture/membership.js';
import { formatAddress } from '../../src/kv/index.js';

let cluster: TortureCluster;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pureraft-membership-fault-'));
  cluster = await TortureCluster.start({ ids: ['n1', 'n2', 'n3'], root });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  await rm(root, { recursive: true, force: true });
});

async function put(key: string, value: string): Promise<boolean> {
  for (const id of cluster.ids) {
    const response = await fetch(`${cluster.url(id)}/kv/${key}`, {
      method: 'PUT',
      body: value,
      signal: AbortSignal.timeout(3_000),
    }).catch(() => undefined);
    if (response?.ok) return true;
  }
  return false;
}

/** Each node but `member` names its proxy to `member` as where it dials it, not the member's real address. */
async function expectRoutedTo(member: string): Promise<void> {
  const real = formatAddress(cluster.addresses(member).raft);
  for (const id of cluster.ids.filter((id) => id !== member)) {
    const peer = (await cluster.status(id)).peers.find((p) => p.id === member);
    expect(peer?.raft, `${id} dials ${member} (really at ${real})`).toBe(
      `127.0.0.1:${cluster.mesh.port(id, member, 'raft')}`,
    );
  }
}

/** Cut off by a partition, `member` applies nothing of 20 writes the others commit; healed, it catches up. */
async function expectCutOff(member: string): Promise<void> {
  // Cut off while it leads, the member would hold the writes sent to it until the others elect a new leader.
  const leader = await poll(20_000, () => cluster.leader());
  if (leader === member) {
    const to = cluster.ids.find((id) => id !== member)!;
    const response = await fetch(`${cluster.url(member)}/admin/transfer-leadership?to=${to}`, {
      method: 'POST',
      signal: AbortSignal.timeout(5_000),
    });
    expect(response.status).toBe(200);
  }
  cluster.mesh.partition([[member], cluster.ids.filter((id) => id !== member)]);
  await sleep(300); // the connections open at the cut are reset
  const before = (await cluster.status(member)).appliedIndex;
  for (let i = 0; i < 20; i++) expect(await put(`k${i}`, `v${i}`)).toBe(true);
  const others = await Promise.all(
    cluster.ids.filter((id) => id !== member).map(async (id) => (await cluster.status(id)).appliedIndex),
  );
  expect(Math.max(...others)).toBeGreaterThanOrEqual(before + 20);
  expect((await cluster.status(member)).appliedIndex, `${member} is cut off`).toBe(before);
  cluster.mesh.heal();
  const caughtUp = await poll(10_000, async () =>
    (await cluster.status(member)).appliedIndex >= before + 20 ? true : undefined,
  );
  expect(caughtUp, `${member} catches up once healed`).toBe(true);
}

describe('a member removed and added back', () => {
  it('is reached through the proxies again, also after every node restarts: a partition still cuts it off', async () => {
    const leader = await poll(20_000, () => cluster.leader());
    const member = cluster.ids.find((id) => id !== leader)!;
    await removeMember(cluster, member);
    await addBack(cluster, member);
    // The address book now holds the member's real Raft address (on every node, and in its peers.json).
    await expectRoutedTo(member);
    await expectCutOff(member);

    // Restarted, each node learns the book again from its log and snapshot; its --route still wins.
    await Promise.all(cluster.ids.map((id) => cluster.crash(id)));
    await Promise.all(cluster.ids.map((id) => cluster.launch(id)));
    await expectRoutedTo(member);
    await expectCutOff(member);
  }, 120_000);
});

describe('a partition cuts the HTTP API between nodes too', () => {
  it('a follower cut off from its leader cannot ask it for a read index: its linearizable read fails; healed, it is served', async () => {
    const leader = (await poll(20_000, () => cluster.leader()))!;
    const follower = cluster.ids.find((id) => id !== leader)!;
    expect(await put('routed', 'yes')).toBe(true);
    // The follower has applied all there is: a read index from the leader would need no wait for its log.
    const applied = await poll(10_000, async () => {
      const [mine, theirs] = await Promise.all([cluster.status(follower), cluster.status(leader)]);
      return mine.appliedIndex >= theirs.commitIndex ? true : undefined;
    });
    expect(applied).toBe(true);
    const read = () =>
      fetch(`${cluster.url(follower)}/kv/routed`, { signal: AbortSignal.timeout(5_000) }).catch(
        () => undefined,
      );
    cluster.mesh.partition([[follower], cluster.ids.filter((id) => id !== follower)]);
    // At once, while the follower still takes the old leader for its leader (its election timer has not fired):
    // it forwards the read to the leader's HTTP API, through the cut proxy of that direction.
    const cut = await read();
    expect(cut?.status, `${follower} reached ${leader}'s HTTP API across the partition`).not.toBe(200);
    cluster.mesh.heal();
    const served = await poll(10_000, async () => {
      const response = await read();
      return response?.status === 200 ? await response.json() : undefined;
    });
    expect(served).toEqual({ key: 'routed', value: 'yes' });
  }, 60_000);
});
