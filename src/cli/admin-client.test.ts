/** The admin client follows a follower's redirect to the leader and keeps the bearer token on the way. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../kv/free-ports.js';
import { InProcessCluster } from '../kv/test-support.js';
import { adminCall, adminCallAny, baseUrl, failure } from './admin-client.js';

const token = 'w'.repeat(32);
let cluster: InProcessCluster;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pureraft-admin-'));
  const tokensFile = join(dir, 'tokens');
  await writeFile(tokensFile, `read-write ${token}\n`);
  cluster = await InProcessCluster.start(['a', 'b', 'c'], () => ({ tokensFile }));
  await cluster.leader();
});
afterAll(async () => {
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('adminCall', () => {
  it('follows a follower’s redirect to the leader with the token', async () => {
    const { leader, followers } = await cluster.roles();
    const node = `127.0.0.1:${followers[0]!.config.http.port}`;
    const answer = await adminCall(node, { method: 'GET', path: '/cluster', token, timeoutMs: 5_000 });
    expect(answer.status).toBe(200);
    expect(answer.body.leader).toBe(leader.config.id);
    const refused = await adminCall(node, { method: 'GET', path: '/cluster', timeoutMs: 5_000 });
    expect(failure(refused)).toMatch(/^\(401\) this API needs a bearer token/);
  });

  it('asks the nodes in turn, skipping one that cannot be reached, and names each when none can', async () => {
    const [nobody, nobodyElse] = await freePorts(2);
    const { leader, followers } = await cluster.roles();
    const call = { method: 'GET', path: '/cluster', token, timeoutMs: 5_000 } as const;
    const answer = await adminCallAny(
      [`127.0.0.1:${nobody}`, `127.0.0.1:${followers[0]!.config.http.port}`],
      call,
    );
    expect(answer.body.leader).toBe(leader.config.id);
    // An answer is the answer, an error status too: the next node is not asked.
    const refused = await adminCallAny([`127.0.0.1:${leader.config.http.port}`, `127.0.0.1:${nobody}`], {
      ...call,
      token: undefined,
    });
    expect(refused.status).toBe(401);
    await expect(adminCallAny([`127.0.0.1:${nobody}`, `127.0.0.1:${nobodyElse}`], call)).rejects.toThrow(
      new RegExp(
        `cannot reach http://127.0.0.1:${nobody}/cluster: connect ECONNREFUSED .*; cannot reach http://127.0.0.1:${nobodyElse}/cluster`,
      ),
    );
  });

  it('takes host:port or a URL', () => {
    expect(baseUrl('127.0.0.1:8001')).toBe('http://127.0.0.1:8001');
    expect(baseUrl('https://n1.example:8001/')).toBe('https://n1.example:8001');
  });
});
