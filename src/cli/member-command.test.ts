/** `pureraft member`: the command line read into a request, its mistakes, and the answer as text. */
import { describe, expect, it } from 'vitest';
import { UsageError } from './flags.js';
import { describeAnswer, memberPlan } from './member-command.js';

const plan = (positionals: string[], flags: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}) =>
  memberPlan(flags, positionals, env, 'usage');

function usageError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  throw new Error('no usage error');
}

describe('pureraft member', () => {
  it('turns each action into its request', () => {
    expect(plan(['list'])).toEqual({
      action: 'list',
      nodes: ['127.0.0.1:8001', '127.0.0.1:8002', '127.0.0.1:8003'],
      call: { method: 'GET', path: '/cluster', timeoutMs: 15_000 },
    });
    expect(
      plan(['add'], { node: 'h:8002', id: 'n4', raft: '10.0.0.4:7001', http: '[::1]:8004' }).call,
    ).toEqual({
      method: 'POST',
      path: '/cluster/learners',
      body: { id: 'n4', raft: '10.0.0.4:7001', http: '[::1]:8004' },
      timeoutMs: 15_000,
    });
    expect(plan(['list'], { node: '10.0.0.1:8001, https://n2.example:8001' }).nodes).toEqual([
      '10.0.0.1:8001',
      'https://n2.example:8001',
    ]);
    expect(plan(['promote'], { id: 'n4', timeout: 500 }).call).toEqual({
      method: 'POST',
      path: '/cluster/promote',
      body: { id: 'n4' },
      timeoutMs: 500,
    });
    expect(plan(['remove'], { id: 'n4', node: 'https://10.0.0.1:8001' })).toMatchObject({
      nodes: ['https://10.0.0.1:8001'],
      call: { method: 'DELETE', path: '/cluster/members/n4' },
    });
  });

  it('takes the token from the flag, else from PURERAFT_TOKEN', () => {
    expect(plan(['list'], {}, { PURERAFT_TOKEN: 'from-env' }).call.token).toBe('from-env');
    expect(plan(['list'], { token: 'flag' }, { PURERAFT_TOKEN: 'from-env' }).call.token).toBe('flag');
    expect(plan(['list'], {}, { PURERAFT_TOKEN: '' }).call.token).toBeUndefined();
  });

  it.each([
    [['grow'], {}, /unknown action "grow": use add, promote, remove or list/],
    [['add'], { id: 'n4', raft: '127.0.0.1:7004' }, /"add" needs --http/],
    [['promote'], {}, /"promote" needs --id/],
    [['remove'], { id: 'n4', raft: '127.0.0.1:1' }, /--raft does not go with "remove"/],
    [['list'], { id: 'n4' }, /--id does not go with "list"/],
    [['add'], { id: 'n4', raft: 'nowhere', http: '127.0.0.1:1' }, /--raft must be host:port/],
    [['remove'], { id: '' }, /bad --id: node id must be a non-empty string/],
    [['list'], { node: 'nowhere' }, /--node must be host:port/],
    [['list'], { node: '127.0.0.1:8001,' }, /--node must be host:port/],
    [['list'], { timeout: 0 }, /--timeout must be positive/],
  ])('refuses %j %j', (positionals, flags, message) => {
    expect(usageError(() => plan(positionals, flags))).toMatch(message);
  });

  it('prints the members as a table, and a change as a sentence', () => {
    const list = describeAnswer('list', {
      leader: 'n1',
      term: 4,
      lastIndex: 120,
      changing: false,
      members: [
        { id: 'n1', role: 'voter', raft: '127.0.0.1:7001', http: '127.0.0.1:8001', lag: 0 },
        { id: 'n4', role: 'learner', raft: null, http: null, lag: 17 },
      ],
    });
    expect(list).toBe(
      'leader n1 (* above), term 4, last index 120\n' +
        'ID   ROLE     RAFT            HTTP            LAG\n' +
        'n1*  voter    127.0.0.1:7001  127.0.0.1:8001  0\n' +
        'n4   learner  ?               ?               17\n',
    );
    expect(describeAnswer('promote', { id: 'n4', membership: { voters: ['n1', 'n4'], learners: [] } })).toBe(
      'n4 promoted to voter; voters: n1 n4; learners: (none)\n',
    );
  });
});
