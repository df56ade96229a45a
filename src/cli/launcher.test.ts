import { describe, expect, it } from 'vitest';
import { clusterConfigs } from '../kv/index.js';
import { LastLines, nodeFlags, RestartBackoff } from './launcher.js';
import { parseRoute } from './node-config.js';

const [config] = clusterConfigs(
  [{ id: 'n1', raft: { host: '127.0.0.1', port: 7001 }, http: { host: '127.0.0.1', port: 8001 } }],
  '/tmp/data',
  { secret: 's' },
);

describe('nodeFlags', () => {
  it('passes an election timeout of [x, 2x) as x, the only form `pureraft node` takes', () => {
    const flags = nodeFlags({ ...config!, electionTimeout: [300, 600] });
    expect(flags.slice(flags.indexOf('--election-timeout'), flags.indexOf('--election-timeout') + 2)).toEqual(
      ['--election-timeout', '300'],
    );
  });

  it('passes each route as --route id=host:port, which `pureraft node` reads back', () => {
    const routes = { n2: { host: '127.0.0.1', port: 9002 }, n3: { host: '::1', port: 9003 } };
    const flags = nodeFlags({ ...config!, routes });
    const given = flags.flatMap((flag, i) => (flag === '--route' ? [flags[i + 1]!] : []));
    expect(given).toEqual(['n2=127.0.0.1:9002', 'n3=[::1]:9003']);
    expect(Object.fromEntries(given.map(parseRoute))).toEqual({
      n2: { raft: routes.n2 },
      n3: { raft: routes.n3 },
    });
  });

  it('passes an HTTP route beside its Raft route, and refuses one without a Raft route to the same member', () => {
    const routes = { n2: { host: '127.0.0.1', port: 9002 } };
    const httpRoutes = { n2: { host: '127.0.0.1', port: 9102 } };
    const flags = nodeFlags({ ...config!, routes, httpRoutes });
    const given = flags.flatMap((flag, i) => (flag === '--route' ? [flags[i + 1]!] : []));
    expect(given).toEqual(['n2=127.0.0.1:9002,127.0.0.1:9102']);
    expect(parseRoute(given[0]!)).toEqual(['n2', { raft: routes.n2, http: httpRoutes.n2 }]);
    expect(() => nodeFlags({ ...config!, httpRoutes })).toThrow(/HTTP route needs a Raft route.*: n2/);
  });

  it('passes lease reads on as --lease-reads, and nothing when they are off', () => {
    expect(nodeFlags({ ...config!, leaseReads: true })).toContain('--lease-reads');
    expect(nodeFlags(config!)).not.toContain('--lease-reads');
  });

  it('refuses any other range rather than silently changing it', () => {
    expect(() => nodeFlags({ ...config!, electionTimeout: [300, 400] })).toThrow(/\[300, 400\].*\[x, 2x\)/);
  });
});

describe('LastLines', () => {
  it('keeps only the last lines, oldest first', () => {
    const lines = new LastLines(3);
    lines.push('a');
    lines.push('b');
    expect(lines.text).toBe('a\nb\n');
    for (const line of ['c', 'd', 'e', 'f', 'g']) lines.push(line);
    expect(lines.text).toBe('e\nf\ng\n');
  });
});

describe('RestartBackoff', () => {
  it('doubles the delay for each exit in a row soon after a start, up to the limit, and forgets after a long run', () => {
    const backoff = new RestartBackoff(3_000, 20_000, 30_000);
    const delays = [1_000, 500, 2_000, 100, 100].map((ranFor) => backoff.next(ranFor).delayMs);
    expect(delays).toEqual([3_000, 6_000, 12_000, 20_000, 20_000]);
    expect(backoff.next(45_000)).toEqual({ delayMs: 3_000, quickExits: 0 });
    expect(backoff.next(10)).toEqual({ delayMs: 3_000, quickExits: 1 });
  });
});
