/** The command line as a user meets it: a real process, its output and its exit code. */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePorts } from '../kv/free-ports.js';
import { InProcessCluster } from '../kv/test-support.js';
import { localNodeArgs } from './test-support.js';

function pureraft(...args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, PURERAFT_SECRET: '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('pureraft', () => {
  it('prints help for itself and every command, with exit code 0', () => {
    expect(pureraft('--help')).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/cluster.*\n.*node.*\n.*replay/),
    });
    for (const command of ['cluster', 'node', 'replay', 'transfer-leadership', 'certs', 'member']) {
      expect(pureraft(command, '--help')).toMatchObject({
        code: 0,
        stdout: expect.stringContaining(`Usage: pureraft ${command}`),
      });
    }
  });

  it('answers a bad command line with a message, the usage and exit code 2', () => {
    const cases: [string[], RegExp][] = [
      [[], /missing a command/],
      [['launch'], /unknown command "launch"/],
      [['node', '--bogus'], /Unknown option '--bogus'/],
      [['node', '--id'], /argument missing/],
      [['cluster', '--nodes', 'three'], /--nodes must be an integer, got "three"/],
      [['cluster', '--nodes', '0'], /--nodes must be from 1 to 15/],
      [['replay'], /expected 1 argument/],
      [['node', '--id', 'n1', '--raft', '127.0.0.1:1'], /missing an address/],
      [['node', '--config', '/nonexistent/pureraft.json'], /no such file/],
      [['transfer-leadership', '--node', 'nowhere'], /--node must be host:port/],
      [['transfer-leadership', '--timeout', '0'], /--timeout must be positive/],
      [['member'], /expected 1 argument/],
      [['member', 'grow'], /unknown action "grow"/],
      [['member', 'add', '--id', 'n4'], /"add" needs --raft/],
      [
        localNodeArgs('--join', 'http://127.0.0.1:3', '--peer', 'n2=127.0.0.1:4,127.0.0.1:5'),
        /--join learns the members from the cluster: leave out --peer/,
      ],
      [
        ['node', '--id', 'n1', '--raft', '0.0.0.0:7001', '--http', '0.0.0.0:8001', '--secret', 's'],
        /--insecure/,
      ],
      [localNodeArgs('--heap-growth', '500'), /--heap-growth must be from 0 to 400, got 500/],
      [['cluster', '--heap-growth', '401'], /--heap-growth must be from 0 to 400, got 401/],
      [['certs', '--dir', '/tmp/x'], /missing --nodes/],
      [['certs', '--dir', '/tmp/x', '--nodes', 'a b'], /node id "a b": use letters/],
      // A negative delay restarted a dying node in a tight loop.
      [['cluster', '--restart-after=-1000'], /--restart-after must be 0 \(never\) or more/],
      // Written with a space, a negative value got parseArgs' "argument is ambiguous" instead.
      [['cluster', '--restart-after', '-5'], /--restart-after must be 0 \(never\) or more/],
      [localNodeArgs('--snapshot-bytes', '-1'), /--snapshot-bytes .* must be a positive integer, got -1/],
      // Node fires a timer of 2³¹ ms or more at once: elections every millisecond.
      [localNodeArgs('--election-timeout', '1500000000'), /the election timeout must be .* at most 86400000/],
      // A cluster whose heartbeats come slower than its election timeout holds elections without end.
      [
        ['cluster', '--election-timeout', '300', '--heartbeat', '500'],
        /the heartbeat interval \(500 ms\) must be below the election timeout \(300 ms\)/,
      ],
      // A trace that does not exist was a 404 in the page, the command saying nothing.
      [
        ['viz', '--trace', '/nonexistent/safety-3n-123.json'],
        /--trace \/nonexistent\/safety-3n-123.json: ENOENT/,
      ],
      [['viz', '--trace', '/tmp'], /--trace \/tmp: not a file/],
      // Both were taken without a word: the page then showed nothing.
      [['viz', '--live', '/nonexistent/traces'], /--live \/nonexistent\/traces: ENOENT/],
      [['viz', '--status', 'n1=http://127.0.0.1:8001'], /--status .* goes with --live/],
      // The second --peer n2 silently replaced the first.
      [
        localNodeArgs('--peer', 'n2=127.0.0.1:4,127.0.0.1:5', '--peer', 'n2=127.0.0.1:6,127.0.0.1:7'),
        /--peer names n2 twice/,
      ],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = pureraft(...args);
      expect({ args, code }).toEqual({ args, code: 2 });
      expect(stderr).toMatch(message);
      expect(stderr).toMatch(/Usage: pureraft/);
    }
  });

  it('makes a CA and node certificates, and reuses the CA to add a node', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pureraft-certs-'));
    const first = pureraft('certs', '--dir', dir, '--nodes', 'n1,n2');
    expect(first).toMatchObject({ code: 0, stdout: expect.stringMatching(/made the CA/) });
    expect(pureraft('certs', '--dir', dir, '--nodes', 'n3')).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/reused the CA[\s\S]*n3: /),
    });
    expect(pureraft('certs', '--dir', dir, '--nodes', 'n1')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/n1.pem exists/),
    });
    // A key whose certificate is gone is no less the node's: it was written over.
    await rm(join(dir, 'n2.pem'));
    expect(pureraft('certs', '--dir', dir, '--nodes', 'n2')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/n2-key.pem exists/),
    });
    const verify = spawnSync('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'n3.pem')], {
      encoding: 'utf8',
    });
    expect(verify.stdout).toMatch(/OK/);
    expect((await stat(join(dir, 'n3-key.pem'))).mode & 0o077).toBe(0);
    await rm(dir, { recursive: true, force: true });
  });

  it('replays a recorded trace and reports that it matches', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pureraft-cli-'));
    const cluster = await InProcessCluster.start(['a', 'b', 'c'], (id) => ({
      tracePath: join(dir, `${id}.trace`),
    }));
    try {
      const leader = await cluster.leader();
      await fetch(cluster.url(leader, '/kv/traced'), { method: 'PUT', body: 'yes' });
    } finally {
      await cluster.stop();
    }
    const replayed = pureraft('replay', join(dir, 'a.trace'));
    expect(replayed.code).toBe(0);
    expect(replayed.stdout).toMatch(/^#0 init$/m);
    expect(replayed.stdout).toMatch(/every transition matches the recording/);
    const quiet = pureraft('replay', '--quiet', join(dir, 'b.trace'));
    expect(quiet.stdout.trim().split('\n')).toHaveLength(1);
    expect(pureraft('replay', join(dir, 'missing.trace'))).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/no such file/),
    });
    await rm(dir, { recursive: true, force: true });
  });

  it('moves leadership through any node it can reach, with a token, and reports a refusal with exit code 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pureraft-transfer-'));
    const token = 't'.repeat(32);
    await writeFile(join(dir, 'tokens'), `read-write ${token}\n`);
    const cluster = await InProcessCluster.start(['a', 'b', 'c'], () => ({
      tokensFile: join(dir, 'tokens'),
    }));
    try {
      const leader = await cluster.leader();
      const follower = cluster.nodes.find((node) => node !== leader)!;
      const target = cluster.nodes.find((node) => node !== leader && node !== follower)!;
      // The first node given is down (nothing listens there): the next one takes the request.
      const [down] = await freePorts(1);
      const nodes = `127.0.0.1:${down},127.0.0.1:${follower.config.http.port}`;
      const withToken = { PURERAFT_TOKEN: token };
      // Asynchronously: the cluster answers from this very process.
      const moved = await pureraftAsync(
        withToken,
        'transfer-leadership',
        '--node',
        nodes,
        '--to',
        target.config.id,
      );
      expect(moved).toMatchObject({
        code: 0,
        stdout: `leadership moved from ${leader.config.id} to ${target.config.id} (term ${target.node.status().term})\n`,
      });
      const refused = await pureraftAsync(
        withToken,
        'transfer-leadership',
        '--node',
        nodes,
        '--to',
        'nobody',
      );
      expect(refused).toMatchObject({
        code: 1,
        stderr: expect.stringMatching(/failed \(409\) .*not a voter/),
      });
      const anonymous = await pureraftAsync(
        {},
        'transfer-leadership',
        '--node',
        nodes,
        '--to',
        leader.config.id,
      );
      expect(anonymous).toMatchObject({
        code: 1,
        stderr: expect.stringMatching(/failed \(401\) .*bearer token/),
      });
      const nobody = await pureraftAsync(withToken, 'transfer-leadership', '--node', `127.0.0.1:${down}`);
      expect(nobody).toMatchObject({
        code: 1,
        stderr: expect.stringContaining(
          `cannot reach http://127.0.0.1:${down}/admin/transfer-leadership: connect ECONNREFUSED`,
        ),
      });
    } finally {
      await cluster.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

async function pureraftAsync(env: NodeJS.ProcessEnv, ...args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { encoding: 'utf8', timeout: 20_000, env: { ...process.env, PURERAFT_TOKEN: '', ...env } },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
