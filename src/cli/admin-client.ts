/**
 * Calls a node's HTTP admin API for the command line: JSON in and out, with a bearer token if one is given,
 * following a follower's redirects to the leader itself. (fetch follows them too, but drops the Authorization
 * header when a redirect goes to another port, which is another origin: every redirect here does.)
 */

import { formatAddress } from '../kv/index.js';
import { UsageError } from './flags.js';
import { ConfigError, parseAddress } from './node-config.js';

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

/** The nodes `pureraft cluster` starts by default: where the admin commands look when given no --node. */
export const DEFAULT_NODES: readonly string[] = ['127.0.0.1:8001', '127.0.0.1:8002', '127.0.0.1:8003'];

/** A `host:port` flag, checked: a UsageError (exit 2) names the mistake. */
export function addressFlag(text: string, what: string, usage: string): string {
  try {
    return formatAddress(parseAddress(text, what));
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message, usage);
    throw error;
  }
}

/** --node: a node's HTTP address (`host:port` or a URL), or several separated by commas; DEFAULT_NODES without it. */
export function nodesFlag(text: string | undefined, usage: string): readonly string[] {
  if (text === undefined) return DEFAULT_NODES;
  const nodes = text.split(',').map((node) => node.trim());
  for (const node of nodes) {
    if (!/^https?:\/\//.test(node)) addressFlag(node, '--node', usage);
    else if (!URL.canParse(node) || new URL(node).hostname === '') {
      throw new UsageError(
        `--node: ${JSON.stringify(node)} is not a URL (e.g. https://n1.example:8001)`,
        usage,
      );
    }
  }
  return nodes;
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
      // The time ran out, perhaps with the request delivered and under way: it may have been carried out.
      if ((error as Error).name === 'TimeoutError')
        throw new Error(
          `no answer from ${url} within ${call.timeoutMs} ms: the request may still have been carried out` +
            ' (look before asking again: `pureraft member list`, or GET /status)',
        );
      const cause = (error as { cause?: unknown }).cause;
      const why = whyUnreachable(error as Error);
      // What a node serving HTTPS does to a plain HTTP request: it closes the connection without an answer.
      const hint =
        url.startsWith('http://') && /other side closed/.test(why)
          ? ' (a node that serves HTTPS closes a plain HTTP request so: for a secured cluster, give --node as https://host:port)'
          : '';
      const message = `cannot reach ${url}: ${why}${hint}`;
      throw isErrorWithCode(cause) && NOT_DELIVERED.has(cause.code)
        ? new UnreachableError(message)
        : new Error(message);
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

interface ErrorWithCode extends Error {
  readonly code: string;
}

function isErrorWithCode(error: unknown): error is ErrorWithCode {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string';
}

/**
 * Why fetch failed: it says only "fetch failed", its cause says why ("connect ECONNREFUSED 127.0.0.1:8001"). A
 * host name with several addresses fails with an AggregateError whose own message is empty: then each attempt's.
 */
export function whyUnreachable(error: Error): string {
  const cause = error.cause;
  if (!(cause instanceof Error)) return error.message;
  if (cause.message !== '') return cause.message;
  if (cause instanceof AggregateError && cause.errors.length > 0) {
    return cause.errors.map((each) => (each instanceof Error ? each.message : String(each))).join(', ');
  }
  return isErrorWithCode(cause) ? cause.code : error.message;
}

/** The error of a failed answer, for a message: `(409) reason`. */
export function failure(answer: AdminAnswer): string {
  return `(${answer.status}) ${String(answer.body.error ?? 'no reason given')}`;
}

/**
 * Errors that mean no connection was made, so the request never left: asking another node cannot repeat it.
 * (A timeout or a connection lost later may have delivered it: those end the call.)
 */
const NOT_DELIVERED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** A node that could not be connected to at all. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

/**
 * Sends the call to the first of `nodes` that can be connected to, in order (a node that is down, restarting or
 * not there is skipped; any answer, an error status too, is the answer); rejects naming each node when none can.
 */
export async function adminCallAny(nodes: readonly string[], call: AdminCall): Promise<AdminAnswer> {
  const unreachable: string[] = [];
  for (const node of nodes) {
    try {
      return await adminCall(node, call);
    } catch (error) {
      if (!(error instanceof UnreachableError)) throw error;
      unreachable.push(error.message);
    }
  }
  throw new Error(unreachable.join('; '));
}
