/**
 * A node that hits a fatal error (here a failed disk write) must not linger: it stops serving HTTP, so no
 * client or operator reads a dead node's last role from /status, and `pureraft node` reports the error and
 * exits non-zero, so whatever supervises it (`pureraft cluster`) starts it again.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { untilStopped } from '../../src/cli/node-command.js';
import { InProcessCluster } from '../../src/kv/test-support.js';
import { eventually } from './harness.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a node after a fatal error', () => {
  it('closes its HTTP server, then reports the error', async () => {
    const cluster = await InProcessCluster.start(['a']);
    try {
      const [node] = cluster.nodes;
      await cluster.leader();
      expect((await fetch(cluster.url(node!, '/status'))).status).toBe(200);
      const diskFull = new Error('ENOSPC: no space left on device');
      node!.storage.persist = () => Promise.reject(diskFull);
      // Storage that cannot reopen: a failed write is final (with reopen, the node steps aside instead:
      // storage-faults.test.ts).
      Object.assign(node!.storage, { reopen: undefined });
      // The write itself gets no success: the node dies under it.
      const write = await fetch(cluster.url(node!, '/kv/doomed'), { method: 'PUT', body: 'x' }).then(
        (response) => response.status,
        () => 'connection closed',
      );
      expect(write).not.toBe(200);
      await eventually('the fatal error', 5_000, async () => (cluster.fatal.length > 0 ? true : undefined));
      expect(cluster.fatal).toEqual([diskFull]);
      await expect(fetch(cluster.url(node!, '/status'))).rejects.toThrow();
    } finally {
      await cluster.stop();
    }
  });

  it('makes `pureraft node` print the error on stderr and exit with code 1', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const stop = vi.fn(async () => {});
    const code = await untilStopped(
      { stop },
      'n1',
      Promise.resolve(new Error('disk on fire')),
      new Promise(() => {}),
      () => {},
    );
    expect(code).toBe(1);
    expect(stderr).toHaveBeenCalledWith('pureraft node n1: stopped after a fatal error: disk on fire\n');
  });
});
