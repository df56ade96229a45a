/** Request targets: the origin form every client sends, and the absolute form a server must take as well. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, originForm, route } from './request.js';

describe('request targets', () => {
  it('takes the absolute form (RFC 9112 §3.2.2) as the path and query it names', () => {
    // It was a 404, "no such path http://other/kv/hello".
    expect(route('GET', 'http://other/kv/hello?consistency=serializable', DEFAULT_LIMITS)).toEqual(
      route('GET', '/kv/hello?consistency=serializable', DEFAULT_LIMITS),
    );
    expect(route('GET', 'HTTPS://node:8001/status', DEFAULT_LIMITS)).toEqual({ kind: 'status' });
    expect(originForm('http://other')).toBe('/');
    expect(originForm('http://other?x=1')).toBe('/?x=1');
    expect(originForm('/kv/a')).toBe('/kv/a');
    // Anything else is left for the router to refuse.
    expect(originForm('*')).toBe('*');
    expect(originForm('ftp://other/kv/a')).toBe('ftp://other/kv/a');
  });
});
