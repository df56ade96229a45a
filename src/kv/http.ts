/**
 * The key-value service's HTTP API (routes in request.ts). Writes go through the Raft log on the leader; a
 * follower answers 307 Temporary Redirect with `Location` set to the same request on the leader (clients follow
 * it: `curl -L`, fetch's default), or 503 while it knows of no leader. Reads are served by any node: a
 * linearizable one once the node has applied through a read index from the leader (ReadIndex), a serializable
 * one from what it has applied at once.
 *
 * Nothing a client sends can crash the node: every failure becomes a JSON error `{"error": "..."}` with a 4xx
 * (the request is wrong) or 5xx (the cluster cannot answer now) status, and bodies are bounded. With `tls` it
 * serves HTTPS; with `auth`, clients must present a bearer token (api-auth.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { NodeId } from '../core/index.js';
import {
  NodeStoppedError,
  NotLeaderError,
  OverloadedError,
  ProposalLostError,
  ProposalOutcomeUnknownError,
  ProposalTimeoutError,
  RequestRefusedError,
  RequestTimeoutError,
  TransferFailedError,
} from '../runtime/node/index.js';
import { type ApiAuth, authorize } from './api-auth.js';
import type { ChangeAnswer, ClusterView, LearnerRequest } from './cluster-admin.js';
import { learnerRequest, promoteRequest } from './cluster-request.js';
import type { KvCommand, KvResult } from './commands.js';
import type { MemberCredential } from './member-credential.js';
import { type Labels, PROMETHEUS_CONTENT_TYPE } from './prometheus.js';
import { LeaderUnreachableError } from './read-forwarding.js';
import {
  bodyLimit,
  type Consistency,
  checkReadHeaders,
  DEFAULT_LIMITS,
  HttpError,
  kvCommand,
  originForm,
  type RequestLimits,
  type Route,
  route,
} from './request.js';

export interface KvHttpOptions {
  /** Replicates a command; rejects with the runtime's errors (NotLeaderError, OverloadedError, ...). */
  readonly propose: (command: KvCommand) => Promise<KvResult>;
  /** A key's value (null: absent) at `consistency`; rejects like `propose` (NotLeaderError, ...). */
  readonly read: (key: string, consistency: Consistency) => Promise<string | null>;
  /** As leader, an index linearizable reads may be served at (for followers); NotLeaderError elsewhere. */
  readonly readIndex: () => Promise<number>;
  /** Hands leadership to `to` (undefined: the leader chooses); resolves with the answer's JSON body. */
  readonly transferLeadership: (to: NodeId | undefined) => Promise<unknown>;
  /** Membership (cluster-admin.ts): each rejects with NotLeaderError off the leader, like a write. */
  readonly cluster: ClusterApi;
  /** The HTTP address ("host:port") of a node, to redirect clients to the leader. */
  readonly httpAddressOf: (id: NodeId) => string | undefined;
  readonly status: () => unknown;
  readonly debugKv: () => unknown;
  /** The /metrics text; it may include this server's `requestCounts()`. */
  readonly metrics: () => string;
  readonly limits?: RequestLimits;
  readonly log?: (line: string) => void;
  /** Serve HTTPS with this certificate and key (PEM); redirects then name https:// too. */
  readonly tls?: {
    readonly cert: string | Buffer;
    readonly key: string | Buffer;
    readonly ca?: string | Buffer;
  };
  /** Tells the other nodes' requests (the internal read index) from clients', which need tokens. */
  readonly member?: MemberCredential;
  /** Require a bearer token of each client; without it, whoever reaches the port may read and write. */
  readonly auth?: ApiAuth;
}

export interface ClusterApi {
  view(): Promise<ClusterView>;
  addLearner(request: LearnerRequest): Promise<ChangeAnswer>;
  promote(id: NodeId): Promise<ChangeAnswer>;
  remove(id: NodeId): Promise<ChangeAnswer>;
}

interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

const countedMethods = new Set(['GET', 'PUT', 'POST', 'DELETE', 'HEAD']);

export class KvHttpServer {
  readonly #options: KvHttpOptions;
  readonly #limits: RequestLimits;
  readonly #server: Server;
  /** Finished requests by method, route and status, for /metrics. */
  readonly #counts = new Map<string, number>();
  /** Requests not answered yet, and who waits for there to be none (a closing server). */
  #answering = 0;
  readonly #answered: (() => void)[] = [];

  constructor(options: KvHttpOptions) {
    this.#options = options;
    this.#limits = options.limits ?? DEFAULT_LIMITS;
    const handle = (request: IncomingMessage, response: ServerResponse) =>
      void this.#handle(request, response);
    // Without a Host header node:http would answer 400 itself, without a body: the API has no use for it.
    const serverOptions = { requireHostHeader: false };
    this.#server =
      options.tls === undefined
        ? createServer(serverOptions, handle)
        : createHttpsServer(
            // Clients may present a certificate: one the cluster's CA signed is a member's (member-credential.ts).
            {
              ...serverOptions,
              ...options.tls,
              requestCert: options.tls.ca !== undefined,
              rejectUnauthorized: false,
            },
            handle,
          );
    this.#server.headersTimeout = 10_000;
    this.#server.requestTimeout = 30_000;
    // A request so malformed that node:http cannot parse it never reaches the handler.
    this.#server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
      if (socket.writable) socket.end(unparsedReply(error));
      else socket.destroy();
    });
  }

  async listen(host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
  }

  get port(): number {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('the HTTP server is not listening');
    return address.port;
  }

  /**
   * Stops taking connections at once, then closes those open: after the answers under way went out, or after
   * `graceMs` at most (default 0: at once). A node that stops answers what it was asked (a 504 for a write it
   * could not see through, a redirect after a hand-over) instead of cutting its clients off.
   */
  async close(graceMs = 0): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    if (graceMs > 0 && this.#answering > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.#answered.push(resolve)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    this.#server.closeAllConnections();
    await closed;
  }

  requestCounts(): [Labels, number][] {
    return [...this.#counts].map(([key, count]) => {
      const [method, route, status] = key.split(' ') as [string, string, string];
      return [{ method, route, status }, count];
    });
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let routeName = 'unknown';
    this.#answering++;
    response.once('close', () => {
      if (--this.#answering === 0) for (const resolve of this.#answered.splice(0)) resolve();
    });
    response.on('finish', () => {
      const method = countedMethods.has(request.method ?? '') ? request.method! : 'other';
      const key = `${method} ${routeName} ${response.statusCode}`;
      this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    });
    let reply: Reply;
    try {
      const target = route(request.method ?? '', request.url ?? '/', this.#limits);
      routeName = target.kind;
      const fromMember = target.kind === 'readIndex' && this.#options.member?.isMember(request) === true;
      if (this.#options.auth !== undefined && !fromMember)
        authorize(this.#options.auth, target, request.headers.authorization);
      reply = await this.#answer(target, request);
    } catch (error) {
      reply = this.#failure(error, request);
    }
    try {
      send(response, reply);
    } catch (error) {
      // A header node:http refuses (a bug: what goes into headers is checked where it comes in) must not end the
      // process: this request gets a 500 if nothing was sent yet, else its connection is closed.
      console.error(
        `HTTP ${request.method} ${request.url}: cannot send the answer: ${(error as Error).message}`,
      );
      if (response.headersSent) response.destroy();
      else send(response, { status: 500, body: { error: 'the answer could not be sent' } });
    }
  }

  async #answer(target: Route, request: IncomingMessage): Promise<Reply> {
    switch (target.kind) {
      case 'status':
        return { status: 200, body: this.#options.status() };
      case 'debug':
        return { status: 200, body: this.#options.debugKv() };
      case 'metrics':
        return { status: 200, body: this.#options.metrics() };
      case 'readIndex': {
        const index = await this.#options.readIndex();
        return { status: 200, body: { index }, headers: this.#options.member?.vouch(request, index) ?? {} };
      }
      case 'transfer':
        await readBody(request, 0);
        return { status: 200, body: await this.#options.transferLeadership(target.to) };
      case 'cluster':
        await readBody(request, 0);
        return { status: 200, body: await this.#options.cluster.view() };
      case 'addLearner': {
        const learner = learnerRequest(await readBody(request, bodyLimit(target, this.#limits)));
        return { status: 200, body: await this.#options.cluster.addLearner(learner) };
      }
      case 'promote': {
        const id = promoteRequest(await readBody(request, bodyLimit(target, this.#limits)));
        return { status: 200, body: await this.#options.cluster.promote(id) };
      }
      case 'removeMember':
        await readBody(request, 0);
        return { status: 200, body: await this.#options.cluster.remove(target.id) };
      case 'kv': {
        const body = await readBody(request, bodyLimit(target, this.#limits));
        if (target.method === 'GET') {
          checkReadHeaders(request.headers);
          const value = await this.#options.read(target.key, target.consistency);
          return replyTo(target.key, { op: 'get', value });
        }
        const command = kvCommand(target, request.headers, body, this.#limits);
        return replyTo(target.key, await this.#options.propose(command));
      }
    }
  }

  #failure(error: unknown, request: IncomingMessage): Reply {
    if (error instanceof ClientGone)
      this.#options.log?.(`HTTP ${request.method} ${request.url}: ${error.message}`);
    if (error instanceof HttpError)
      return { status: error.status, body: { error: error.message }, headers: error.headers };
    const retry = { 'Retry-After': '1' };
    if (error instanceof NotLeaderError) {
      const address = error.leaderId === null ? undefined : this.#options.httpAddressOf(error.leaderId);
      if (address === undefined)
        return { status: 503, body: { error: error.message, leader: error.leaderId }, headers: retry };
      const scheme = this.#options.tls === undefined ? 'http' : 'https';
      const location = `${scheme}://${address}${originForm(request.url ?? '/')}`;
      return {
        status: 307,
        body: { error: error.message, leader: error.leaderId, location },
        headers: { Location: location },
      };
    }
    if (error instanceof TransferFailedError) {
      return { status: 503, body: { error: error.message, leader: error.leaderId }, headers: retry };
    }
    if (
      error instanceof OverloadedError ||
      error instanceof ProposalLostError ||
      error instanceof NodeStoppedError ||
      error instanceof LeaderUnreachableError
    ) {
      return { status: 503, body: { error: error.message }, headers: retry };
    }
    if (
      error instanceof ProposalTimeoutError ||
      error instanceof ProposalOutcomeUnknownError ||
      error instanceof RequestTimeoutError
    ) {
      return { status: 504, body: { error: error.message } };
    }
    if (error instanceof RequestRefusedError) return { status: 409, body: { error: error.message } };
    this.#options.log?.(`HTTP ${request.method} ${request.url}: ${(error as Error)?.stack ?? String(error)}`);
    return { status: 500, body: { error: 'internal error; see the node log' } };
  }
}

function replyTo(key: string, result: KvResult): Reply {
  switch (result.op) {
    case 'get':
      return result.value === null
        ? { status: 404, body: { error: 'key not found', key } }
        : { status: 200, body: { key, value: result.value } };
    case 'put':
      return { status: 200, body: { key, previous: result.previous } };
    case 'delete':
      return { status: 200, body: { key, deleted: result.previous !== null } };
    case 'cas':
      return result.swapped
        ? { status: 200, body: { key, swapped: true, value: result.current } }
        : {
            status: 409,
            body: {
              error: 'compare failed: the key does not hold the expected value',
              key,
              current: result.current,
            },
          };
    case 'refused':
      return { status: 409, body: { error: result.reason } };
  }
}

function send(response: ServerResponse, { status, body, headers = {} }: Reply): void {
  if (response.headersSent) return;
  const text = typeof body === 'string' ? body : `${JSON.stringify(body)}\n`;
  const contentType = typeof body === 'string' ? PROMETHEUS_CONTENT_TYPE : 'application/json';
  // After an oversized body the rest of it is still on the wire: the connection cannot carry another request.
  const close = status === 413 ? { Connection: 'close' } : {};
  response.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(text),
    ...headers,
    ...close,
  });
  response.end(text);
}

const NO_BODY = new Uint8Array(0);

/** The request body, refused with 413 as soon as it is known to exceed `limit` bytes. */
function readBody(request: IncomingMessage, limit: number): Promise<Uint8Array> {
  const tooLarge = () =>
    new HttpError(
      413,
      limit === 0 ? 'this request takes no body' : `the body exceeds the limit of ${limit} bytes`,
    );
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(tooLarge());
  // Neither a length nor chunks: the request has no body (RFC 9112 §6.3), nothing to wait for. node:http
  // discards the rest of an unread request itself once the response is sent.
  if (declared === 0 && request.headers['transfer-encoding'] === undefined) return Promise.resolve(NO_BODY);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners('data');
        request.resume();
        reject(tooLarge());
      } else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    // Either way the client went away (an 'error' of node:http here is only ever that): nothing to answer.
    // 'close' comes for every request, also after its body arrived whole: only then is there nothing to build
    // (an Error with its stack trace per request cost ~9% of a loaded leader's time, issue 7).
    const gone = () => {
      if (!request.complete) reject(new ClientGone());
    };
    request.on('error', gone);
    request.on('close', gone);
  });
}

/** The client closed the connection before its body was complete: worth one line in the log, no stack. */
class ClientGone extends HttpError {
  constructor() {
    super(400, 'the client went away before its request body was complete');
  }
}

/** What node:http could not parse (the method, the headers, ...), answered in JSON like any other failure. */
function unparsedReply(error: NodeJS.ErrnoException): string {
  // A request line of the right shape with a method node:http does not know (BREW), rather than garbage.
  const { rawPacket } = error as { rawPacket?: Buffer };
  const unknownMethod =
    error.code === 'HPE_INVALID_METHOD' && /^[A-Za-z-]{1,32} \S+ HTTP\/1\.[01]\r?\n/.test(String(rawPacket));
  const [status, reason, message] = unknownMethod
    ? [501, 'Not Implemented', 'unknown method: use GET, PUT, POST or DELETE']
    : error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'the request headers are too large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'the request took too long to arrive']
        : [400, 'Bad Request', `malformed request (${error.code ?? 'unparseable'})`];
  const body = `${JSON.stringify({ error: message })}\n`;
  return [
    `HTTP/1.1 ${status} ${reason}`,
    'Connection: close',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}
