/**
 * A follower's linearizable read asks the leader for a read index (thesis §6.4) over the leader's HTTP API,
 * `GET /internal/read-index`, then waits until it has applied through it and answers from its own state. The
 * leader answers only as leader; a node that is not answers as any follower does (307 or 503, naming the leader
 * it knows), and the follower's client is sent there.
 */
import type { NodeId } from '../core/index.js';
import { NotLeaderError } from '../runtime/node/index.js';

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

/** The read index from the leader at `address` ("host:port"), within `timeoutMs`. */
export async function fetchReadIndex(leaderId: NodeId, address: string, timeoutMs: number): Promise<number> {
  let status: number;
  let body: { index?: unknown; leader?: unknown; error?: unknown } | undefined;
  try {
    const response = await fetch(`http://${address}${READ_INDEX_PATH}`, {
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = response.status;
    body = (await response.json().catch(() => undefined)) as typeof body;
  } catch (error) {
    const reason =
      (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : String(error);
    throw new LeaderUnreachableError(leaderId, reason);
  }
  if (status === 200 && Number.isSafeInteger(body?.index)) return body!.index as number;
  // It is no longer the leader: the client's read goes to the one it names, if any.
  if (status === 307 || status === 503) {
    throw new NotLeaderError(typeof body?.leader === 'string' ? body.leader : null);
  }
  throw new LeaderUnreachableError(leaderId, `it answered ${status} ${JSON.stringify(body?.error ?? null)}`);
}
