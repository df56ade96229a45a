/**
 * The HTTP API's requests, parsed and validated in two steps: the route (method and path) before the body is
 * read, so that a bad request is refused without reading its body, then the key-value command from the body
 * and headers. Every refusal is an `HttpError` carrying the status and a message for the client.
 *
 *   GET    /kv/{key}         read: linearizable (ReadIndex, no log entry), or with ?consistency=serializable
 *                            this replica's applied value at once (possibly stale)
 *   PUT    /kv/{key}         write; the body is the value
 *   DELETE /kv/{key}         delete
 *   POST   /kv/{key}         compare-and-set; JSON body {"expect": string|null, "value": string|null}
 *                            (null: absent; "value": null deletes)
 *   GET    /status           this node's view of the cluster, JSON
 *   GET    /metrics          Prometheus text format
 *   GET    /debug/kv         this replica's applied data, as it is here (not linearizable), JSON
 *   POST   /admin/transfer-leadership[?to=id]   hand leadership to `to` (default: the best-placed voter)
 *   GET    /internal/read-index                 the leader's read index, for followers' reads
 *   GET    /cluster                             the members, their roles, addresses and lag (leader only)
 *   POST   /cluster/learners                    add a learner: JSON {"id", "raft", "http"} (cluster-request.ts)
 *   POST   /cluster/promote                     make a caught-up learner a voter: JSON {"id"}
 *   DELETE /cluster/members/{id}                remove a voter or a learner
 *
 * The key is the rest of the path after /kv/, percent-decoded. Headers `X-Client-Id` and `X-Client-Seq` (both
 * or neither) make a write part of a client session, so a retry with the same pair is applied once; a read
 * checks them and otherwise ignores them (it changes nothing, so there is nothing to apply once).
 */
import type { NodeId } from '../core/index.js';
import { checkNodeId } from '../effects/transport/index.js';
import { checkSession, type KvCommand, type KvSession } from './commands.js';

export class HttpError extends Error {
  override readonly name = 'HttpError';

  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

export interface RequestLimits {
  /** Longest key, in UTF-8 bytes. */
  readonly maxKeyBytes: number;
  /** Longest value, in UTF-8 bytes: the largest PUT body (a compare-and-set body may hold two values). */
  readonly maxValueBytes: number;
}

export const DEFAULT_LIMITS: RequestLimits = { maxKeyBytes: 1024, maxValueBytes: 64 * 1024 };

export type WriteMethod = 'PUT' | 'DELETE' | 'POST';
export type KvMethod = 'GET' | WriteMethod;

/**
 * What a read may return (README, "Consistency"): `linearizable`, the value of the latest write acknowledged
 * before the read began (ReadIndex: the leader confirms it still leads, no log entry); `serializable`, this
 * replica's applied value at once, which may be stale.
 */
export type Consistency = 'linearizable' | 'serializable';
const consistencies: readonly string[] = ['linearizable', 'serializable'] satisfies Consistency[];

export type ReadRoute = {
  readonly kind: 'kv';
  readonly method: 'GET';
  readonly key: string;
  readonly consistency: Consistency;
};
export type WriteRoute = { readonly kind: 'kv'; readonly method: WriteMethod; readonly key: string };

export type Route =
  | ReadRoute
  | WriteRoute
  | { readonly kind: 'status' | 'metrics' | 'debug' | 'readIndex' }
  /** `to`: the node to hand leadership to; undefined lets the leader choose. */
  | { readonly kind: 'transfer'; readonly to: NodeId | undefined }
  /** Membership (cluster-admin.ts): the view, and the changes, whose bodies cluster-request.ts reads. */
  | { readonly kind: 'cluster' | 'addLearner' | 'promote' }
  | { readonly kind: 'removeMember'; readonly id: NodeId };

const KV_PREFIX = '/kv/';
const kvMethods: readonly string[] = ['GET', 'PUT', 'DELETE', 'POST'] satisfies KvMethod[];
type FixedRoute = 'status' | 'metrics' | 'debug' | 'readIndex';
const readOnly: ReadonlyMap<string, FixedRoute> = new Map([
  ['/status', 'status'],
  ['/metrics', 'metrics'],
  ['/debug/kv', 'debug'],
  ['/internal/read-index', 'readIndex'],
]);
const TRANSFER_PATH = '/admin/transfer-leadership';
/** Membership routes: path, the one method each takes, and the route. */
const clusterRoutes: ReadonlyMap<string, readonly [string, Route]> = new Map([
  ['/cluster', ['GET', { kind: 'cluster' }]],
  ['/cluster/learners', ['POST', { kind: 'addLearner' }]],
  ['/cluster/promote', ['POST', { kind: 'promote' }]],
]);
const MEMBERS_PREFIX = '/cluster/members/';
/** The largest body of a membership request: an id and two addresses. */
export const CLUSTER_BODY_LIMIT = 4096;

const textEncoder = new TextEncoder();
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A request target as a path and query (origin form). A server must accept the absolute form too (RFC 9112
 * §3.2.2: `GET http://host/kv/a`, what a client speaking to a proxy sends): its scheme and authority go.
 */
export function originForm(target: string): string {
  if (target.startsWith('/')) return target;
  const match = /^https?:\/\/[^/?#]*/i.exec(target);
  if (match === null) return target;
  const rest = target.slice(match[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

export function route(method: string, target: string, limits: RequestLimits): Route {
  const url = originForm(target);
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const query = queryAt === -1 ? undefined : new URLSearchParams(url.slice(queryAt + 1));
  // The key-value paths first: they are nearly every request a loaded node serves.
  if (path.startsWith(KV_PREFIX)) return kvRoute(method, path, query, limits);
  const fixed = readOnly.get(path);
  if (fixed !== undefined) {
    if (method !== 'GET') throw methodNotAllowed(method, path, 'GET');
    return { kind: fixed };
  }
  if (path === TRANSFER_PATH) {
    if (method !== 'POST') throw methodNotAllowed(method, path, 'POST');
    return { kind: 'transfer', to: transferTarget(query) };
  }
  const membership = clusterRoutes.get(path);
  if (membership !== undefined) {
    const [allowed, target] = membership;
    if (method !== allowed) throw methodNotAllowed(method, path, allowed);
    return target;
  }
  if (path.startsWith(MEMBERS_PREFIX)) {
    if (method !== 'DELETE') throw methodNotAllowed(method, path, 'DELETE');
    return { kind: 'removeMember', id: memberId(path.slice(MEMBERS_PREFIX.length)) };
  }
  throw new HttpError(
    404,
    `no such path ${path}: use /kv/{key}, /status, /metrics, /debug/kv, /cluster or ${TRANSFER_PATH}`,
  );
}

function kvRoute(
  method: string,
  path: string,
  query: URLSearchParams | undefined,
  limits: RequestLimits,
): Route {
  if (!kvMethods.includes(method)) throw methodNotAllowed(method, path, kvMethods.join(', '));
  const key = decodeKey(path.slice(KV_PREFIX.length), limits);
  const consistency = single(query, 'consistency');
  if (method !== 'GET') {
    if (consistency !== undefined) {
      throw new HttpError(400, 'consistency applies to reads (GET) only: every write is linearizable');
    }
    return { kind: 'kv', method: method as WriteMethod, key };
  }
  if (consistency !== undefined && !consistencies.includes(consistency)) {
    throw new HttpError(
      400,
      `consistency must be linearizable (the default) or serializable, got ${JSON.stringify(consistency)}`,
    );
  }
  return { kind: 'kv', method: 'GET', key, consistency: (consistency ?? 'linearizable') as Consistency };
}

/** A query parameter given at most once (undefined: a request without a query string). */
function single(query: URLSearchParams | undefined, name: string): string | undefined {
  const values = query?.getAll(name) ?? [];
  if (values.length > 1) throw new HttpError(400, `${name} is given ${values.length} times; give it once`);
  return values[0];
}

function transferTarget(query: URLSearchParams | undefined): NodeId | undefined {
  const to = single(query, 'to');
  if (to === undefined) return undefined;
  const problem = checkNodeId(to);
  if (problem !== undefined) throw new HttpError(400, `bad "to": ${problem}`);
  return to;
}

function memberId(encoded: string): NodeId {
  let id: string;
  try {
    id = decodeURIComponent(encoded);
  } catch {
    throw new HttpError(400, 'the member id is not valid percent-encoded UTF-8');
  }
  const problem = checkNodeId(id);
  if (problem !== undefined) throw new HttpError(400, `bad member id: ${problem}`);
  return id;
}

function methodNotAllowed(method: string, path: string, allow: string): HttpError {
  return new HttpError(405, `method ${method} is not allowed on ${path}; allowed: ${allow}`, {
    Allow: allow,
  });
}

function decodeKey(encoded: string, limits: RequestLimits): string {
  let key: string;
  try {
    key = decodeURIComponent(encoded);
  } catch {
    throw new HttpError(400, 'the key is not valid percent-encoded UTF-8');
  }
  if (key.length === 0) throw new HttpError(400, 'the key is empty: use /kv/{key}');
  // A UTF-16 code unit takes at most 3 bytes in UTF-8: most keys need no count.
  if (3 * key.length <= limits.maxKeyBytes) return key;
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > limits.maxKeyBytes) {
    throw new HttpError(414, `the key is ${bytes} bytes long; the limit is ${limits.maxKeyBytes}`);
  }
  return key;
}

/** The largest body a route accepts, in bytes. */
export function bodyLimit(route: Route, limits: RequestLimits): number {
  if (route.kind === 'addLearner' || route.kind === 'promote') return CLUSTER_BODY_LIMIT;
  if (route.kind !== 'kv') return 0;
  if (route.method === 'PUT') return limits.maxValueBytes;
  // Two values, JSON-escaped (at most 6 bytes per byte, as \u00XX), and the field names.
  if (route.method === 'POST') return 12 * limits.maxValueBytes + 64;
  return 0;
}

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** Checks a read's headers: a malformed session is refused as on a write, though a read does not use it. */
export function checkReadHeaders(headers: Headers): void {
  sessionOf(headers);
}

export function kvCommand(
  route: WriteRoute,
  headers: Headers,
  body: Uint8Array,
  limits: RequestLimits,
): KvCommand {
  const session = sessionOf(headers);
  const { key } = route;
  const withSession = <T extends object>(operation: T) =>
    session === undefined ? operation : { ...operation, session };
  switch (route.method) {
    case 'DELETE':
      return withSession({ op: 'delete', key });
    case 'PUT':
      return withSession({ op: 'put', key, value: decodeText(body, 'the value') });
    case 'POST': {
      const { expect, value } = casBody(body, limits);
      return withSession({ op: 'cas', key, expected: expect, value });
    }
  }
}

function decodeText(body: Uint8Array, what: string): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new HttpError(400, `${what} is not valid UTF-8`);
  }
}

/** The body as a JSON object; a 400 naming `shape` (how the object should look) otherwise. */
export function jsonObject(body: Uint8Array, shape: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeText(body, 'the body'));
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new HttpError(400, `the body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new HttpError(400, `the body must be a JSON object ${shape}`);
  }
  return parsed as Record<string, unknown>;
}

function casBody(body: Uint8Array, limits: RequestLimits): { expect: string | null; value: string | null } {
  const fields = jsonObject(body, '{"expect": string|null, "value": string|null}');
  for (const name of ['expect', 'value']) {
    const field = fields[name];
    if (field !== null && typeof field !== 'string') {
      throw new HttpError(400, `"${name}" must be a string or null (null means absent)`);
    }
    if (typeof field === 'string' && textEncoder.encode(field).length > limits.maxValueBytes) {
      throw new HttpError(413, `"${name}" is longer than ${limits.maxValueBytes} bytes`);
    }
  }
  return { expect: fields.expect as string | null, value: fields.value as string | null };
}

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function sessionOf(headers: Headers): KvSession | undefined {
  const client = header(headers, 'x-client-id');
  const seqText = header(headers, 'x-client-seq');
  if (client === undefined && seqText === undefined) return undefined;
  if (client === undefined || seqText === undefined) {
    throw new HttpError(400, 'X-Client-Id and X-Client-Seq go together: send both or neither');
  }
  const session = { client, seq: /^\d{1,16}$/.test(seqText) ? Number(seqText) : Number.NaN };
  const problem = checkSession(session);
  if (problem !== undefined) throw new HttpError(400, `bad session headers: ${problem}`);
  return session;
}
