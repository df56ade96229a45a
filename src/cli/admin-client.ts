/**
 * Calls a node's HTTP admin API for the command line: JSON in and out, with a bearer token if one is given,
 * following a follower's redirects to the leader itself. (fetch follows them too, but drops the Authorization
 * header when a redirect goes to another port, which is another origin: every redirect here does.)
 */

/** The token's environment variable, so that it stays off the command line (and out of `ps`). */
export const TOKEN_ENV = 'PURERAFT_TOKEN';

const MAX_REDIRECTS = 5;

export interface AdminCall {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** The path and query, e.g. `/cluster/learners`. */
  readonly path: string;
  readonly body?: unknown;
  readonly token?: string;
  readonly timeoutMs: number;
}

export interface AdminAnswer {
  readonly status: number;
  /** The JSON body, or {} when there was none. */
  readonly body: Record<string, unknown>;
}

/** `host:port`, or a URL (`http://host:port`, `https://...`): the base URL of a node's API. */
export function baseUrl(node: string): string {
  return /^https?:\/\//.test(node) ? node.replace(/\/+$/, '') : `http://${node}`;
}

/** Sends the call to `node`, following up to five redirects; rejects when no node answers in time. */
export async function adminCall(node: string, call: AdminCall): Promise<AdminAnswer> {
  const signal = AbortSignal.timeout(call.timeoutMs);
  let url = `${baseUrl(node)}${call.path}`;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    let response: Response;
    try {
      response = await fetch(url, {
        method: call.method,
        redirect: 'manual',
        signal,
        headers: {
          ...(call.body !== undefined && { 'Content-Type': 'application/json' }),
          ...(call.token !== undefined && { Authorization: `Bearer ${call.token}` }),
        },
        ...(call.body !== undefined && { body: JSON.stringify(call.body) }),
      });
    } catch (error) {
      throw new Error(`cannot reach ${url}: ${(error as Error).message}`);
    }
    const location = response.headers.get('location');
    if (response.status === 307 && location !== null) {
      await response.body?.cancel();
      url = location;
      continue;
    }
    const text = await response.text();
    let body: Record<string, unknown> = {};
    try {
      const parsed: unknown = text.length === 0 ? {} : JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
    } catch {
      body = { error: text.slice(0, 200) };
    }
    return { status: response.status, body };
  }
  throw new Error(
    `more than ${MAX_REDIRECTS} redirects from ${baseUrl(node)}${call.path}: is a leader known?`,
  );
}

/** The error of a failed answer, for a message: `(409) reason`. */
export function failure(answer: AdminAnswer): string {
  return `(${answer.status}) ${String(answer.body.error ?? 'no reason given')}`;
}
