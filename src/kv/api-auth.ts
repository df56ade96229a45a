/**
 * Who may use the HTTP API: clients present a bearer token (`Authorization: Bearer <token>`), and each token
 * has a role. `read-only` may read keys, /status, /metrics, /debug/kv and /cluster; `read-write` may also write,
 * delete and compare-and-set, and use the admin routes (leadership transfer, membership changes). /status and /metrics can be left open (for a monitoring system without a token).
 *
 * The tokens file has one token a line, `<role> <token>`; blank lines and lines starting with # are skipped:
 *
 *   # ops
 *   read-write 3f9c0e6b1d5a48e7a2c4b8d0f1e3a5c7
 *   read-only  a1b2c3d4e5f60718293a4b5c6d7e8f90
 *
 * Tokens are kept only as SHA-256 digests and looked up by digest, so comparing them reveals nothing of a
 * token through timing. A token travels in the clear over plain HTTP: give the node certificates (HTTPS)
 * whenever the API is reachable beyond this machine.
 */
import { createHash } from 'node:crypto';
import { HttpError, type Route } from './request.js';

export type Role = 'read-only' | 'read-write';

const roles: readonly Role[] = ['read-only', 'read-write'];
/** Long enough that guessing is hopeless; printable ASCII without spaces, so that it fits the header as is. */
const TOKEN = /^[\x21-\x7e]{16,}$/;

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class ApiTokens {
  private constructor(private readonly byDigest: ReadonlyMap<string, Role>) {}

  /** The tokens of a tokens file's text; throws a RangeError naming the line of a mistake. */
  static parse(text: string, source: string): ApiTokens {
    const byDigest = new Map<string, Role>();
    for (const [index, raw] of text.split('\n').entries()) {
      const line = raw.trim();
      if (line.length === 0 || line.startsWith('#')) continue;
      const where = `${source}:${index + 1}`;
      const [role, token, ...rest] = line.split(/\s+/);
      if (!roles.includes(role as Role) || token === undefined || rest.length > 0)
        throw new RangeError(`${where}: expected "<read-only|read-write> <token>"`);
      if (!TOKEN.test(token))
        throw new RangeError(`${where}: a token must be 16 or more printable characters, without spaces`);
      if (byDigest.has(digest(token))) throw new RangeError(`${where}: this token is listed twice`);
      byDigest.set(digest(token), role as Role);
    }
    if (byDigest.size === 0) throw new RangeError(`${source}: no tokens`);
    return new ApiTokens(byDigest);
  }

  /** The role of the token in an Authorization header, or undefined for none or an unknown one. */
  roleOf(authorization: string | undefined): Role | undefined {
    const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
    return match === null ? undefined : this.byDigest.get(digest(match[1]!));
  }
}

export interface ApiAuth {
  readonly tokens: ApiTokens;
  /** Serve /status and /metrics without a token. */
  readonly openStatus?: boolean;
}

const challenge = { 'WWW-Authenticate': 'Bearer realm="pureraft"' };

/** Throws a 401 (no or an unknown token) or a 403 (a read-only token for a write) unless `route` is allowed. */
export function authorize(auth: ApiAuth, route: Route, authorization: string | undefined): void {
  const needed = requiredRole(route, auth.openStatus === true);
  if (needed === undefined) return;
  const role = auth.tokens.roleOf(authorization);
  if (role === undefined) {
    const message =
      authorization === undefined
        ? 'this API needs a bearer token: send "Authorization: Bearer <token>"'
        : "unknown bearer token: send one from the node's tokens file";
    throw new HttpError(401, message, challenge);
  }
  if (needed === 'read-write' && role !== 'read-write')
    throw new HttpError(403, 'this token is read-only: it cannot write');
}

function requiredRole(route: Route, openStatus: boolean): Role | undefined {
  switch (route.kind) {
    case 'status':
    case 'metrics':
      return openStatus ? undefined : 'read-only';
    case 'debug':
    case 'readIndex':
    case 'cluster':
      return 'read-only';
    case 'kv':
      return route.method === 'GET' ? 'read-only' : 'read-write';
    default:
      // A route added later changes something until it is listed here as a read.
      return 'read-write';
  }
}
