/**
 * A follower's linearizable read asks the leader for a read index (thesis §6.4) over the leader's HTTP API,
 * `GET /internal/read-index`, then waits until it has applied through it and answers from its own state. The
 * leader answers only as leader, and only to a member (member-credential.ts) or a client with a token, and the
 * follower takes only an answer that proves it came from the leader it asked (the same file); a node
 * that is not the leader answers as any follower does (307 or 503, naming the leader it knows), and the
 * follower's client is sent there.
 */
import { get as httpGet, type IncomingHttpHeaders } from 'node:http';
import { get as httpsGet } from 'node:https';
import type { NodeId } from '../core/index.js';
import { NotLeaderError } from '../runtime/node/index.js';
import type { MemberAsk, MemberCredential } from './member-credential.js';

export const READ_INDEX_PATH = '/internal/read-index';

/** The leader did not answer a read-index request in time, or answered nonsense: the read may be retried. */
export class LeaderUnreachableError extends Error {
  override readonly name = 'LeaderUnreachableError';

  constructor(
    readonly leaderId: NodeId,
    reason: string,
  ) {
    super(`could not get a read index from the leader ${leaderId}: ${reason}; retry`);
  }
}

/** The read index from the leader at `address` ("host:port"), within `timeoutMs`, asked as a member. */
export async function fetchReadIndex(
  leaderId: NodeId,
  address: string,
  timeoutMs: number,
  member: MemberCredential,
): Promise<number> {
  const ask = member.ask(leaderId);
  let answer: Answer;
  try {
    answer = await getJson(`${member.scheme}://${address}${READ_INDEX_PATH}`, ask, timeoutMs);
  } catch (error) {
    const reason =
      (error as Error).name === 'AbortError' ? `no answer within ${timeoutMs} ms` : String(error);
    throw new LeaderUnreachableError(leaderId, reason);
  }
  const { status, body, headers } = answer;
  if (status === 200 && Number.isSafeInteger(body?.index)) {
    const index = body!.index as number;
    if (ask.vouched(index, headers)) return index;
    throw new LeaderUnreachableError(leaderId, 'its answer did not prove it came from a member');
  }
  // It is no longer the leader: the client's read goes to the one it names, if any.
  if (status === 307 || status === 503) {
    throw new NotLeaderError(typeof body?.leader === 'string' ? body.leader : null);
  }
  throw new LeaderUnreachableError(leaderId, `it answered ${status} ${JSON.stringify(body?.error ?? null)}`);
}

interface Answer {
  readonly status: number;
  readonly body: { index?: unknown; leader?: unknown; error?: unknown } | undefined;
  readonly headers: IncomingHttpHeaders;
}

/** GET `url` as the member's `ask` says; the status, the body parsed as JSON (undefined if it is not), the headers. */
function getJson(url: string, ask: MemberAsk, timeoutMs: number): Promise<Answer> {
  const { headers, tls } = ask;
  const options = { headers, signal: AbortSignal.timeout(timeoutMs), ...tls };
  return new Promise((resolve, reject) => {
    const request = (tls === undefined ? httpGet : httpsGet)(url, options, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        // An index is a few bytes: a long answer is not one.
        if (size > MAX_ANSWER_BYTES) request.destroy(new Error('the answer is too long'));
        else chunks.push(chunk);
      });
      response.on('error', reject);
      response.on('end', () => {
        let body: Record<string, unknown> | undefined;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        } catch {
          body = undefined;
        }
        resolve({ status: response.statusCode ?? 0, body, headers: response.headers });
      });
    });
    request.on('error', reject);
  });
}

const MAX_ANSWER_BYTES = 64 * 1024;
