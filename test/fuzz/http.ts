/**
 * Fuzzing the HTTP API's request handling: raw, mutated requests (request line, headers, bodies, tokens,
 * pipelining, chunked bodies) sent over sockets to a real `KvHttpServer` on 127.0.0.1 with tokens on, and, in
 * this process, fuzzed fields through the API's own parsing (route, authorization, command). Every request
 * must get a well-formed answer (JSON for every error) or a closed connection within a few seconds, never a
 * 500 or a stack trace in the log; the server must go on serving, and its memory stay bounded.
 */

import { connect } from 'node:net';
import { type ApiAuth, ApiTokens, authorize } from '../../src/kv/api-auth.js';
import type { KvCommand, KvResult } from '../../src/kv/commands.js';
import { FakeClusterApi } from '../../src/kv/fake-cluster-api.js';
import { KvHttpServer } from '../../src/kv/http.js';
import { checkReadHeaders, DEFAULT_LIMITS, HttpError, kvCommand, route } from '../../src/kv/request.js';
import { count, type FuzzReport, fuzzEach, fuzzInput, heapUsed, mostlyValid, Random } from './mutate.js';

const token = 't'.repeat(24);
const auth: ApiAuth = { tokens: ApiTokens.parse(`read-write ${token}\n`, 'fuzz tokens') };
const encoder = new TextEncoder();
const ANSWER_TIMEOUT_MS = 5_000;

function requestCorpus(): Uint8Array[] {
  const head = (method: string, path: string, headers: string[] = [], body = '') =>
    [
      `${method} ${path} HTTP/1.1`,
      'Host: fuzz',
      `Authorization: Bearer ${token}`,
      ...headers,
      ...(body.length > 0 ? [`Content-Length: ${Buffer.byteLength(body)}`] : []),
      '',
      body,
    ].join('\r\n');
  const requests = [
    head('GET', '/kv/key'),
    head('PUT', '/kv/key', [], 'value'),
    head('PUT', '/kv/%E2%82%AC%20a%2Fb', ['X-Client-Id: c1', 'X-Client-Seq: 7'], 'v'),
    head('POST', '/kv/key', ['Content-Type: application/json'], '{"expect":"a","value":null}'),
    head('DELETE', '/kv/key?x=1'),
    head('GET', '/status'),
    head('GET', '/metrics'),
    head('GET', '/debug/kv'),
    head('GET', '/cluster'),
    head('POST', '/cluster/learners', [], '{"id":"n4","raft":"127.0.0.1:7004","http":"127.0.0.1:8004"}'),
    head('POST', '/cluster/promote', [], '{"id":"n4"}'),
    head('DELETE', '/cluster/members/n4'),
    `${head('PUT', '/kv/chunked', ['Transfer-Encoding: chunked'])}5\r\nhello\r\n0\r\n\r\n`,
    head('GET', '/kv/a') + head('PUT', '/kv/b', [], 'pipelined'),
    'GET /kv/key HTTP/1.0\r\n\r\n',
  ];
  return requests.map((text) => encoder.encode(text));
}

const tokens = [
  '\r\n',
  '\r\n\r\n',
  ': ',
  '%',
  '%zz',
  '%ED%A0%80',
  '\u0000',
  '/../',
  'Content-Length: 99999999999\r\n',
  'Content-Length: -1\r\n',
  'Transfer-Encoding: chunked\r\n',
  'X-Client-Seq: 99999999999999999999\r\n',
  'Authorization: Bearer \r\n',
  'ffffffff\r\n',
  '{"expect":',
  '\ufeff',
  'BREW',
].map((text) => encoder.encode(text));

/** Writes `bytes`, closes our side, and returns what the server answered before it closed. */
function exchange(port: number, bytes: Uint8Array): Promise<string | 'timeout'> {
  return new Promise((resolve) => {
    const received: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.end(bytes));
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => resolve(Buffer.concat(received).toString('latin1')));
    socket.setTimeout(ANSWER_TIMEOUT_MS, () => {
      socket.destroy();
      resolve('timeout');
    });
  });
}

/** The first response's status, after checking it is well-formed; undefined for no answer at all. */
function checkAnswer(answer: string): number | undefined {
  if (answer.length === 0) return undefined;
  const match = /^HTTP\/1\.1 (\d{3}) [^\r\n]*\r\n/.exec(answer);
  if (match === null) throw new Error(`not an HTTP response: ${JSON.stringify(answer.slice(0, 80))}`);
  const status = Number(match[1]);
  const end = answer.indexOf('\r\n\r\n');
  if (end < 0) throw new Error('a response without the end of its headers');
  const headers = answer.slice(0, end);
  const length = Number(/\r\ncontent-length: (\d+)/i.exec(headers)?.[1] ?? Number.NaN);
  const body = answer.slice(end + 4, end + 4 + length);
  if (/\r\ncontent-type: application\/json/i.test(headers)) JSON.parse(body);
  else if (status >= 400) throw new Error(`a ${status} without a JSON body`);
  if (status >= 500 && status !== 501 && status !== 503)
    throw new Error(`status ${status}: ${body.slice(0, 200)}`);
  return status;
}

/** `inputs` raw requests, `concurrency` at a time, to a server with tokens on. */
export async function fuzzHttpServer(inputs: number, seed: number, concurrency = 16): Promise<FuzzReport> {
  const random = new Random(seed);
  const corpus = requestCorpus();
  const outcomes: Record<string, number> = {};
  const failures: FuzzReport['failures'] = [];
  const log: string[] = [];
  const server = new KvHttpServer({
    propose: async (command: KvCommand): Promise<KvResult> =>
      command.op === 'get' ? { op: 'get', value: 'v' } : { op: 'put', previous: null },
    read: async () => 'v',
    readIndex: async () => 1,
    transferLeadership: async () => undefined,
    cluster: new FakeClusterApi(),
    httpAddressOf: () => undefined,
    status: () => ({ role: 'leader' }),
    debugKv: () => ({}),
    metrics: () => 'pureraft_term 1\n',
    log: (line) => {
      if (log.length < 100) log.push(line);
    },
    auth,
  });
  await server.listen('127.0.0.1', 0);
  const heapBefore = heapUsed();
  let slowestMs = 0;
  let next = 0;
  const worker = async () => {
    while (next < inputs) {
      const input = next++;
      const bytes = fuzzInput(random, corpus, tokens);
      const startedAt = performance.now();
      const answer = await exchange(server.port, bytes);
      slowestMs = Math.max(slowestMs, performance.now() - startedAt);
      try {
        if (answer === 'timeout') throw new Error(`no answer nor close within ${ANSWER_TIMEOUT_MS} ms`);
        const status = checkAnswer(answer);
        count(outcomes, status === undefined ? 'closed without an answer' : `status ${status}`);
      } catch (error) {
        failures.push({
          input,
          problem: `${(error as Error).message} (request ${JSON.stringify(Buffer.from(bytes).toString('latin1').slice(0, 200))})`,
        });
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
    const stacks = log.filter((line) => /\n\s+at /.test(line));
    if (stacks.length > 0) failures.push({ input: -1, problem: `stack traces in the log: ${stacks[0]}` });
    const healthy = checkAnswer(await exchange(server.port, corpus[0]!));
    if (healthy !== 200)
      failures.push({ input: -1, problem: `a valid request got ${healthy} after the run` });
  } finally {
    await server.close();
  }
  return { inputs, outcomes, failures, slowestMs, heapGrowthBytes: heapUsed() - heapBefore };
}

const methods = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD', 'PATCH', 'BREW', '', 'get'];

/** `inputs` fuzzed requests through the API's own parsing: only HttpErrors with 4xx statuses may come out. */
export function fuzzRequestParsing(inputs: number, seed: number): FuzzReport {
  const random = new Random(seed);
  const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');
  const urls = ['/kv/key', '/kv/%E2%82%AC', '/status', '/metrics', '/debug/kv', '/kv/a?b=c'].map((u) =>
    encoder.encode(u),
  );
  const values = ['{"expect":"a","value":"b"}', 'c1', '17', `Bearer ${token}`, 'plain value'].map((v) =>
    encoder.encode(v),
  );
  return fuzzEach(inputs, () => {
    const method = random.pick(methods);
    const url = text(mostlyValid(random, urls, tokens));
    const headers = {
      authorization: text(mostlyValid(random, values, tokens)),
      ...(random.below(2) === 0 && { 'x-client-id': text(mostlyValid(random, values, tokens)) }),
      ...(random.below(2) === 0 && { 'x-client-seq': text(mostlyValid(random, values, tokens)) }),
    };
    const body = mostlyValid(random, values, tokens);
    try {
      const target = route(method, url, DEFAULT_LIMITS);
      authorize({ ...auth, openStatus: random.below(2) === 0 }, target, headers.authorization);
      if (target.kind === 'kv') {
        if (target.method === 'GET') checkReadHeaders(headers);
        else kvCommand(target, headers, body, DEFAULT_LIMITS);
      }
      return ['accepted'];
    } catch (error) {
      if (error instanceof HttpError && error.status >= 400 && error.status < 500)
        return [`refused ${error.status}`];
      throw error;
    }
  });
}
