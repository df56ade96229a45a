/** PeerCache: the members' addresses kept in the data directory for the next start. */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PEER_CACHE_FILE, PeerCache } from './peer-cache.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pureraft-peers-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const member = (port: number) => ({
  raft: { host: '127.0.0.1', port },
  http: { host: '::1', port: port + 1000 },
});

describe('PeerCache', () => {
  it('keeps the last addresses saved, whole, for the next start to read', async () => {
    const lines: string[] = [];
    const cache = new PeerCache(dir, (line) => lines.push(line));
    expect(cache.members).toEqual({});
    cache.save(new Map([['b', member(7002)]]));
    cache.save(
      new Map([
        ['b', member(7002)],
        ['d', member(7004)],
      ]),
    );
    await cache.idle();
    expect(JSON.parse(await readFile(join(dir, PEER_CACHE_FILE), 'utf8'))).toEqual({
      b: { raft: '127.0.0.1:7002', http: '[::1]:8002' },
      d: { raft: '127.0.0.1:7004', http: '[::1]:8004' },
    });
    expect(await readdir(dir)).toEqual([PEER_CACHE_FILE]);
    expect(new PeerCache(dir, () => {}).members).toEqual({ b: member(7002), d: member(7004) });
    expect(lines).toEqual([]);
  });

  it('skips what it cannot read as addresses, and a file that is not a cache at all', async () => {
    await writeFile(
      join(dir, PEER_CACHE_FILE),
      JSON.stringify({
        b: { raft: '127.0.0.1:7002', http: '[::1]:8002' },
        x: { raft: 'nowhere', http: 1 },
        y: null,
      }),
    );
    expect(new PeerCache(dir, () => {}).members).toEqual({ b: member(7002) });
    await writeFile(join(dir, PEER_CACHE_FILE), '{"b": ');
    expect(new PeerCache(dir, () => {}).members).toEqual({});
  });

  it('logs a failed write and carries on', async () => {
    const lines: string[] = [];
    const cache = new PeerCache(join(dir, 'missing'), (line) => lines.push(line));
    cache.save(new Map([['b', member(7002)]]));
    await cache.idle();
    expect(lines).toEqual([
      expect.stringMatching(/^cannot keep the members' addresses in .*missing: ENOENT/),
    ]);
  });
});
