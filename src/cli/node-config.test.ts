import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  parseAddress,
  parsePeer,
  parseRoute,
  resolveNodeConfig,
  settingsFromJson,
} from './node-config.js';

const minimal = { id: 'n1', raft: '127.0.0.1:7001', http: '127.0.0.1:8001', secret: 's' };

describe('node configuration', () => {
  it('parses addresses, IPv6 included, and refuses bad ones', () => {
    expect(parseAddress('10.0.0.1:7001', 'x')).toEqual({ host: '10.0.0.1', port: 7001 });
    expect(parseAddress('[::1]:80', 'x')).toEqual({ host: '::1', port: 80 });
    for (const bad of ['nohost', ':80', 'h:0', 'h:65536', 'h:80x', '::1:80']) {
      expect(() => parseAddress(bad, 'the raft address')).toThrow(ConfigError);
    }
  });

  it('parses peers as id=raft,http', () => {
    expect(parsePeer('n2=10.0.0.2:7001,10.0.0.2:8001')).toEqual([
      'n2',
      { raft: { host: '10.0.0.2', port: 7001 }, http: { host: '10.0.0.2', port: 8001 } },
    ]);
    expect(() => parsePeer('n2=10.0.0.2:7001')).toThrow(/id=raftHost:raftPort,httpHost:httpPort/);
  });

  it('parses routes as id=raft[,http], from flags over the config file, and refuses a route to itself', () => {
    expect(parseRoute('n2=192.168.0.2:7001')).toEqual(['n2', { raft: { host: '192.168.0.2', port: 7001 } }]);
    expect(parseRoute('n2=a:1,b:2')).toEqual([
      'n2',
      { raft: { host: 'a', port: 1 }, http: { host: 'b', port: 2 } },
    ]);
    expect(() => parseRoute('n2=a:1,b:2,c:3')).toThrow(/id=raftHost:raftPort/);
    expect(() => parseRoute('n2=nohost')).toThrow(/the route to n2/);
    expect(() => parseRoute('n2=a:1,nohost')).toThrow(/the HTTP route to n2/);
    const file = settingsFromJson(
      JSON.stringify({ ...minimal, routes: { n3: 'c:7003', n4: 'd:7004,e:8004' } }),
      'cfg.json',
    );
    const fromFile = resolveNodeConfig({}, file, {});
    expect(fromFile.routes).toEqual({ n3: { host: 'c', port: 7003 }, n4: { host: 'd', port: 7004 } });
    expect(fromFile.httpRoutes).toEqual({ n4: { host: 'e', port: 8004 } });
    const fromFlags = resolveNodeConfig({ route: ['n2=b:7002'] }, file, {});
    expect(fromFlags.routes).toEqual({ n2: { host: 'b', port: 7002 } });
    expect(fromFlags.httpRoutes).toBeUndefined();
    expect(resolveNodeConfig(minimal, {}, {}).routes).toBeUndefined();
    expect(() =>
      resolveNodeConfig(
        {},
        settingsFromJson(JSON.stringify({ ...minimal, routes: { n2: 'a:1,b:2,c:3' } }), 'f'),
        {},
      ),
    ).toThrow(/route n2 must be "host:port" or "host:port,host:port"/);
    expect(() => resolveNodeConfig({ ...minimal, route: ['n1=a:1'] }, {}, {})).toThrow(/route to itself/);
    // A name every object has: assigned into a record it set the prototype, and vanished unchecked.
    expect(() => resolveNodeConfig({ ...minimal, route: ['__proto__=a:1'] }, {}, {})).toThrow(
      /bad peer id "__proto__"/,
    );
    expect(() => resolveNodeConfig({ ...minimal, peer: ['__proto__=a:1,a:2'] }, {}, {})).toThrow(
      /bad peer id "__proto__"/,
    );
    expect(() => resolveNodeConfig({ ...minimal, route: [`${'x'.repeat(300)}=a:1`] }, {}, {})).toThrow(
      /bad peer id/,
    );
    expect(() =>
      resolveNodeConfig({}, settingsFromJson(JSON.stringify({ ...minimal, routes: { n2: 7 } }), 'f'), {}),
    ).toThrow(/route n2 must be "host:port" or "host:port,host:port"/);
    // An array is an object to typeof: its members became peers named "0" and "1".
    const listed = { ...minimal, peers: [{ id: 'n2', raft: 'b:7001', http: 'b:8001' }] };
    expect(() => settingsFromJson(JSON.stringify(listed), 'f')).toThrow(/peers must be a JSON object/);
  });

  it('takes flags over the config file, and the secret from the environment last', () => {
    const file = settingsFromJson(
      JSON.stringify({
        ...minimal,
        secret: 'from file',
        heartbeat: 50,
        peers: { n2: { raft: 'b:7001', http: 'b:8001' } },
      }),
      'cfg.json',
    );
    const config = resolveNodeConfig({ http: '0.0.0.0:9000', insecure: true }, file, {
      PURERAFT_SECRET: 'from env',
    });
    expect(config).toMatchObject({
      id: 'n1',
      http: { host: '0.0.0.0', port: 9000 },
      secret: 'from file',
      heartbeatInterval: 50,
      electionTimeout: [400, 800],
      peers: { n2: { raft: { host: 'b', port: 7001 } } },
    });
    expect(config.dataDir).toMatch(/\.data\/n1$/);
    const fromEnv = resolveNodeConfig(
      { ...minimal, secret: undefined, electionTimeout: 300 },
      {},
      {
        PURERAFT_SECRET: 'from env',
      },
    );
    expect(fromEnv).toMatchObject({ secret: 'from env', electionTimeout: [300, 600] });
  });

  it('turns lease reads on from a flag or the config file; they are off by default', () => {
    expect(resolveNodeConfig(minimal, {}, {})).not.toHaveProperty('leaseReads');
    expect(resolveNodeConfig({ ...minimal, leaseReads: true }, {}, {})).toMatchObject({ leaseReads: true });
    const file = settingsFromJson('{"leaseReads": true}', 'c.json');
    expect(resolveNodeConfig(minimal, file, {})).toMatchObject({ leaseReads: true });
    expect(() => settingsFromJson('{"leaseReads": "yes"}', 'c.json')).toThrow(/leaseReads/);
  });

  it('names what is missing or wrong', () => {
    const cases: [object, RegExp][] = [
      [{ ...minimal, id: undefined }, /missing the node id/],
      [{ ...minimal, raft: undefined }, /missing an address/],
      [{ ...minimal, secret: undefined }, /missing the cluster secret/],
      [{ ...minimal, peer: ['n1=a:1,a:2'] }, /lists itself as a peer/],
      [{ ...minimal, heartbeat: 500 }, /must be below the election timeout/],
      [{ ...minimal, electionTimeout: 0 }, /positive integer/],
      [{ ...minimal, leaseReads: true, electionTimeout: 100, heartbeat: 99 }, /lease reads need a lease/],
    ];
    for (const [flags, error] of cases) expect(() => resolveNodeConfig(flags, {}, {})).toThrow(error);
  });

  it('takes certificates from a directory or one by one, and then needs no secret', () => {
    const noSecret = { ...minimal, secret: undefined };
    expect(resolveNodeConfig({ ...noSecret, tlsDir: '/certs' }, {}, {})).toMatchObject({
      tls: { cert: '/certs/n1.pem', key: '/certs/n1-key.pem', ca: '/certs/ca.pem' },
    });
    const file = settingsFromJson('{"tlsDir": "/certs", "ca": "/other/ca.pem"}', 'c.json');
    const mixed = resolveNodeConfig(noSecret, file, {});
    expect(mixed.tls).toEqual({ cert: '/certs/n1.pem', key: '/certs/n1-key.pem', ca: '/other/ca.pem' });
    expect(mixed).not.toHaveProperty('secret');
    expect(() => resolveNodeConfig({ ...noSecret, cert: '/c.pem' }, {}, {})).toThrow(
      /--cert, --key and --ca/,
    );
    const tokens = resolveNodeConfig({ ...minimal, tokens: '/t', openStatus: true }, {}, {});
    expect(tokens).toMatchObject({ tokensFile: '/t', openStatus: true });
    expect(() => resolveNodeConfig({ ...minimal, openStatus: true }, {}, {})).toThrow(/goes with --tokens/);
  });

  it('refuses an API beyond loopback without tokens and HTTPS, unless told it is insecure', () => {
    const exposed = { ...minimal, http: '10.0.0.1:8001' };
    expect(() => resolveNodeConfig(exposed, {}, {})).toThrow(
      /reachable beyond this machine: give it --tokens and certificates \(--tls-dir\), or pass --insecure/,
    );
    expect(() => resolveNodeConfig({ ...exposed, tokens: '/t' }, {}, {})).toThrow(/give it certificates/);
    expect(resolveNodeConfig({ ...exposed, tokens: '/t', tlsDir: '/c' }, {}, {}).http.host).toBe('10.0.0.1');
    expect(resolveNodeConfig({ ...exposed, insecure: true }, {}, {}).http.host).toBe('10.0.0.1');
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '[::1]']) {
      expect(() => resolveNodeConfig({ ...minimal, http: `${host}:8001` }, {}, {})).not.toThrow();
    }
  });

  it('refuses a config file with unknown fields or wrong types', () => {
    expect(() => settingsFromJson('{"id": 1}', 'c.json')).toThrow('c.json: id must be a string');
    expect(() => settingsFromJson('{"port": 1}', 'c.json')).toThrow('c.json: unknown field "port"');
    expect(() => settingsFromJson('[]', 'c.json')).toThrow('c.json: must be a JSON object');
    expect(() => settingsFromJson('{', 'c.json')).toThrow(/c.json: not valid JSON/);
    const file = settingsFromJson('{"peers": {"n2": {"raft": 7001}}}', 'c.json');
    expect(() => resolveNodeConfig(minimal, file, {})).toThrow(/peer n2 must be/);
  });
});
