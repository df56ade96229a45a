/**
 * The HTTP API's requests, parsed and validated in two steps: the route (method and path) before the body is
 * read, so that a bad request is refused without reading its body, then the key-value command from the body
 * and headers. Every refusal is an `HttpError` carrying the status and a message for the client.
 *
 *   GET    /kv/{key}         read (linearizable: it goes through the log)
 *   PUT    /kv/{key}         write; the body is the value
 *   DELETE /kv/{key}         delete
 *   POST   /kv/{key}         compare-and-set; JSON body {"expect": string|null, "value": string|null}
 *                            (null: absent; "value": null deletes)
 *   GET    /status           this node's view of the cluster, JSON
 *   GET    /metrics          Prometheus text format
 *   GET    /debug/kv         this replica's applied data, as it is here (not linearizable), JSON
 *
 * The key is the rest of the path after /kv/, percent-decoded. Headers `X-Client-Id` and `X-Client-Seq` (both
 * or neither) make a request part of a client session, so a retry with the same pair is applied once.
 */
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

export type KvMethod = 'GET' | 'PUT' | 'DELETE' | 'POST';

export type Route =
  | { readonly kind: 'kv'; readonly method: KvMethod; readonly key: string }
  | { readonly kind: 'status' | 'metrics' | 'debug' };

const KV_PREFIX = '/kv/';
const kvMethods: readonly string[] = ['GET', 'PUT', 'DELETE', 'POST'] satisfies KvMethod[];
const readOnly: Readonly<Record<string, Exclude<Route['kind'], 'kv'>>> = {
  '/status': 'status',
  '/metrics': 'metrics',
  '/debug/kv': 'debug',
};

const textEncoder = new TextEncoder();
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function route(method: string, url: string, limits: RequestLimits): Route {
  const path = url.split('?', 1)[0]!;
  const fixed = readOnly[path];
  if (fixed !== undefined) {
    if (method !== 'GET') throw methodNotAllowed(method, path, 'GET');
    return { kind: fixed };
  }
  if (!path.startsWith(KV_PREFIX)) {
    throw new HttpError(404, `no such path ${path}: use /kv/{key}, /status, /metrics or /debug/kv`);
  }
  if (!kvMethods.includes(method)) throw methodNotAllowed(method, path, kvMethods.join(', '));
  return { kind: 'kv', method: method as KvMethod, key: decodeKey(path.slice(KV_PREFIX.length), limits) };
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
  const bytes = textEncoder.encode(key).length;
  if (bytes > limits.maxKeyBytes) {
    throw new HttpError(414, `the key is ${bytes} bytes long; the limit is ${limits.maxKeyBytes}`);
  }
  return key;
}

/** The largest body a route accepts, in bytes. */
export function bodyLimit(route: Route, limits: RequestLimits): number {
  if (route.kind !== 'kv') return 0;
  if (route.method === 'PUT') return limits.maxValueBytes;
  // Two values, JSON-escaped (at most 6 bytes per byte, as \u00XX), and the field names.
  if (route.method === 'POST') return 12 * limits.maxValueBytes + 64;
  return 0;
}

type Headers = Readonly<Record<string, string | string[] | undefined>>;

export function kvCommand(
  route: Extract<Route, { kind: 'kv' }>,
  headers: Headers,
  body: Uint8Array,
  limits: RequestLimits,
): KvCommand {
  const session = sessionOf(headers);
  const { key } = route;
  const withSession = <T extends object>(operation: T) =>
    session === undefined ? operation : { ...operation, session };
  switch (route.method) {
    case 'GET':
      return withSession({ op: 'get', key });
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

function casBody(body: Uint8Array, limits: RequestLimits): { expect: string | null; value: string | null } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeText(body, 'the body'));
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new HttpError(400, `the body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new HttpError(400, 'the body must be a JSON object {"expect": string|null, "value": string|null}');
  }
  const fields = parsed as Record<string, unknown>;
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
