/** The membership routes and request bodies: what is taken, and the clear 4xx for what is not. */
import { describe, expect, it } from 'vitest';
import { learnerRequest, promoteRequest } from './cluster-request.js';
import { DEFAULT_LIMITS, HttpError, route } from './request.js';

const bytes = (text: string) => new TextEncoder().encode(text);

function refusal(run: () => unknown): { status: number; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof HttpError) return { status: error.status, message: error.message };
    throw error;
  }
  throw new Error('not refused');
}

describe('membership routes', () => {
  it('routes each path with its one method', () => {
    expect(route('GET', '/cluster', DEFAULT_LIMITS)).toEqual({ kind: 'cluster' });
    expect(route('POST', '/cluster/learners', DEFAULT_LIMITS)).toEqual({ kind: 'addLearner' });
    expect(route('POST', '/cluster/promote', DEFAULT_LIMITS)).toEqual({ kind: 'promote' });
    expect(route('DELETE', '/cluster/members/n4', DEFAULT_LIMITS)).toEqual({
      kind: 'removeMember',
      id: 'n4',
    });
    expect(route('DELETE', '/cluster/members/n%2D4', DEFAULT_LIMITS)).toEqual({
      kind: 'removeMember',
      id: 'n-4',
    });
  });

  it('refuses other methods with 405 and Allow, and bad member ids with 400', () => {
    expect(refusal(() => route('POST', '/cluster', DEFAULT_LIMITS)).status).toBe(405);
    expect(refusal(() => route('GET', '/cluster/learners', DEFAULT_LIMITS)).message).toMatch(/allowed: POST/);
    expect(refusal(() => route('GET', '/cluster/members/n4', DEFAULT_LIMITS)).message).toMatch(
      /allowed: DELETE/,
    );
    expect(refusal(() => route('DELETE', '/cluster/members/', DEFAULT_LIMITS))).toMatchObject({
      status: 400,
      message: expect.stringMatching(/^bad member id: /),
    });
    expect(refusal(() => route('DELETE', '/cluster/members/%E0%A4%A', DEFAULT_LIMITS)).status).toBe(400);
  });
});

describe('membership request bodies', () => {
  it('reads a learner and a promotion', () => {
    expect(learnerRequest(bytes('{"id":"n4","raft":"127.0.0.1:7004","http":"[::1]:8004"}'))).toEqual({
      id: 'n4',
      raft: '127.0.0.1:7004',
      http: '[::1]:8004',
    });
    expect(promoteRequest(bytes('{"id":"n4"}'))).toBe('n4');
  });

  it.each([
    ['not JSON', 'n4', /the body is not valid JSON/],
    ['an array', '["n4"]', /must be a JSON object \{"id": "n4", "raft"/],
    ['no id', '{"raft":"h:1","http":"h:2"}', /"id" must be a string/],
    ['an empty id', '{"id":"","raft":"h:1","http":"h:2"}', /bad "id": /],
    [
      'no port',
      '{"id":"n4","raft":"h","http":"h:2"}',
      /"raft" must be host:port with a port from 1 to 65535, got "h"/,
    ],
    ['port 0', '{"id":"n4","raft":"h:1","http":"h:0"}', /"http" must be host:port/],
    ['a number', '{"id":"n4","raft":"h:1","http":8004}', /"http" must be host:port .* got 8004/],
    ['a typo', '{"id":"n4","raft":"h:1","htp":"h:2"}', /unknown field "htp"/],
    // Addresses go into a redirect's Location header: a CR/LF there once ended the node that sent it.
    [
      'a line break in a host',
      '{"id":"n4","raft":"h:1","http":"x\\r\\nSet-Cookie a=b:8004"}',
      /"http" must be host:port/,
    ],
    ['a space in a host', '{"id":"n4","raft":"a b:1","http":"h:2"}', /"raft" must be host:port/],
    [
      'an address no one can dial',
      '{"id":"n4","raft":"0.0.0.0:1","http":"[::]:2"}',
      /"raft" must be an address the other members can reach/,
    ],
  ])('refuses a learner with %s', (_, body, message) => {
    expect(refusal(() => learnerRequest(bytes(body)))).toEqual({
      status: 400,
      message: expect.stringMatching(message),
    });
  });

  it('refuses a promotion without an id or with more', () => {
    expect(refusal(() => promoteRequest(bytes('{}'))).message).toMatch(/"id" must be a string/);
    expect(refusal(() => promoteRequest(bytes('{"id":"n4","force":true}'))).message).toMatch(
      /unknown field "force"/,
    );
    expect(refusal(() => promoteRequest(bytes('\xff'))).status).toBe(400);
  });
});
