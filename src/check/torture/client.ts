/**
 * Clients that record a history of the key-value service through its HTTP API: each issues one operation at a
 * time on a few shared keys, with a value no one else ever writes, follows redirects to the leader and
 * retries a write (on another node, with the same X-Client-Id and X-Client-Seq, so it is applied at most once)
 * until it is answered or its time is up, when its outcome is unknown.
 *
 * `reads` chooses how reads are served: 'linearizable' (GET /kv, through the leader), or, to prove that the
 * checks bite, 'local': the client's own node's applied data as it is there (GET /debug/kv, no redirect, no
 * ReadIndex), which is what a read from a follower's local state without ReadIndex returns.
 *
 * Each client draws from generators of its own, derived from the seed and its number: one for what it does
 * (which key, which operation), exactly two draws per operation, and one for where it sends it (which node
 * first, session names), whose draws depend on how many retries a fault costs. So the seed alone fixes each
 * client's sequence of operations (the values a compare-and-set expects come from the answers, and how many
 * operations a client gets through, and how they interleave with other clients', from the timing).
 */
import { HistoryRecorder } from '../history.js';
import type { KvInput, KvOperation, KvOutput } from '../kv-model.js';
import { sleep } from './cluster.js';
import { deriveSeed, Random } from './random.js';
import { sessionKey } from './traces.js';

export type ReadMode = 'linearizable' | 'local';

export interface WorkloadOptions {
  readonly clients: number;
  readonly keys: number;
  readonly reads: ReadMode;
  /** How long a write is retried before its outcome is recorded as unknown. */
  readonly writeTimeoutMs: number;
  /** How long one HTTP attempt may take (a paused node never answers). */
  readonly attemptTimeoutMs: number;
}

export const DEFAULT_WORKLOAD: WorkloadOptions = {
  clients: 10,
  keys: 6,
  reads: 'linearizable',
  writeTimeoutMs: 8_000,
  attemptTimeoutMs: 1_000,
};

/** What one attempt got: an answer, or nothing usable (a retry may still get one). */
type Attempt =
  | { readonly kind: 'answer'; readonly output: KvOutput }
  | { readonly kind: 'refused' }
  | { readonly kind: 'retry' };

/** A request the service should never refuse: the client or the suite is wrong. */
export class ClientBugError extends Error {
  override readonly name = 'ClientBugError';
}

export class Workload {
  readonly recorder = new HistoryRecorder<KvInput, KvOutput>();
  /** "client/seq" of every write a node acknowledged: each must be applied (see traces.ts). */
  readonly acknowledged: string[] = [];
  #stopping = false;
  /** Client operations recorded in the history (answered, or of unknown outcome): not the final reads. */
  #recorded = 0;

  constructor(
    readonly urls: readonly string[],
    readonly options: WorkloadOptions,
    /** Each client's generators derive from it (`deriveSeed`). */
    readonly seed: number,
  ) {}

  /** Runs every client until `stop`; resolves when each has finished its last operation. */
  async run(): Promise<void> {
    await Promise.all(Array.from({ length: this.options.clients }, (_, c) => this.#client(c)));
  }

  stop(): void {
    this.#stopping = true;
  }

  history(): KvOperation[] {
    return this.recorder.history();
  }

  /** How many of the clients' operations the history holds (answered, or of unknown outcome). */
  get recorded(): number {
    return this.#recorded;
  }

  /** One linearizable read of `key`, recorded, as a final check after healing. */
  async finalRead(key: string, client: string): Promise<boolean> {
    const input: KvInput = { op: 'get', key };
    const id = this.recorder.invoke(client, input);
    const attempt = await this.#attempt(this.urls[0]!, input, undefined, 'linearizable', 5_000);
    if (attempt.kind === 'answer') this.recorder.complete(id, attempt.output);
    else this.recorder.discard(id);
    return attempt.kind === 'answer';
  }

  keyName(k: number): string {
    return `k${k}`;
  }

  async #client(c: number): Promise<void> {
    const name = `c${c}`;
    const home = this.urls[c % this.urls.length]!;
    /** What the client does: two draws per operation, whatever the answers and their timing. */
    const choices = new Random(deriveSeed(this.seed, 'client', c, 'operations'));
    /** Where it sends it and how it names its sessions: as many draws as retries and new sessions need. */
    const routes = new Random(deriveSeed(this.seed, 'client', c, 'routes'));
    let sessions = 0;
    const newSession = () => `${name}.${++sessions}.${routes.int(1e9)}`;
    let session = newSession();
    let seq = 0;
    /** The last value this client saw per key: what its compare-and-sets expect. */
    const seen = new Map<string, string | null>();
    for (let n = 1; !this.#stopping; n++) {
      const key = this.keyName(choices.int(this.options.keys));
      const input = choose(choices, key, `${name}-${n}`, seen.get(key) ?? null);
      const id = this.recorder.invoke(name, input);
      if (input.op === 'get') {
        const attempt = await this.#read(input, home, routes);
        if (attempt.kind === 'answer') {
          this.recorder.complete(id, attempt.output);
          this.#recorded++;
          seen.set(key, attempt.output.value ?? null);
        } else this.recorder.discard(id); // a read that got no answer changed nothing
        continue;
      }
      const outcome = await this.#write(input, session, ++seq, routes);
      if (outcome.kind === 'answer') {
        this.recorder.complete(id, outcome.output);
        this.#recorded++;
        this.acknowledged.push(sessionKey(session, seq));
        if (input.op !== 'cas' || outcome.output.swapped)
          seen.set(key, input.op === 'delete' ? null : input.value);
      } else if (outcome.kind === 'refused') {
        // The session was unknown to the service (its first request never landed): not applied. Start afresh.
        this.recorder.discard(id);
        session = newSession();
        seq = 0;
      } else {
        this.recorder.unknown(id);
        this.#recorded++;
      }
    }
  }

  async #read(input: KvInput, home: string, routes: Random): Promise<Attempt> {
    const deadline = performance.now() + this.options.writeTimeoutMs;
    for (let tries = 0; performance.now() < deadline && !this.#stopping; tries++) {
      const url =
        this.options.reads === 'local'
          ? home
          : this.urls[(tries + routes.int(this.urls.length)) % this.urls.length]!;
      const attempt = await this.#attempt(
        url,
        input,
        undefined,
        this.options.reads,
        this.options.attemptTimeoutMs,
      );
      if (attempt.kind === 'answer') return attempt;
      await sleep(20);
    }
    return { kind: 'retry' };
  }

  /** Retries with the same session and sequence number until an answer or the deadline. */
  async #write(input: KvInput, client: string, seq: number, routes: Random): Promise<Attempt> {
    const deadline = performance.now() + this.options.writeTimeoutMs;
    const start = routes.int(this.urls.length);
    for (let tries = 0; performance.now() < deadline; tries++) {
      const url = this.urls[(start + tries) % this.urls.length]!;
      const attempt = await this.#attempt(
        url,
        input,
        { client, seq },
        'linearizable',
        this.options.attemptTimeoutMs,
      );
      if (attempt.kind !== 'retry') return attempt;
      await sleep(20);
    }
    return { kind: 'retry' };
  }

  async #attempt(
    url: string,
    input: KvInput,
    session: { client: string; seq: number } | undefined,
    reads: ReadMode,
    timeoutMs: number,
  ): Promise<Attempt> {
    const local = input.op === 'get' && reads === 'local';
    const path = local ? '/debug/kv' : `/kv/${encodeURIComponent(input.key)}`;
    const request: RequestInit = {
      method: { get: 'GET', put: 'PUT', delete: 'DELETE', cas: 'POST' }[input.op],
      signal: AbortSignal.timeout(timeoutMs),
      redirect: local ? 'manual' : 'follow',
      headers:
        session === undefined ? {} : { 'X-Client-Id': session.client, 'X-Client-Seq': String(session.seq) },
    };
    if (input.op === 'put') request.body = input.value;
    if (input.op === 'cas') request.body = JSON.stringify({ expect: input.expected, value: input.value });
    let status: number;
    let body: Record<string, unknown>;
    try {
      const response = await fetch(`${url}${path}`, request);
      status = response.status;
      body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    } catch {
      return { kind: 'retry' }; // refused, reset or timed out: down, paused or cut off
    }
    return interpret(input, local, status, body);
  }
}

/** The next operation on `key`: one draw. */
function choose(choices: Random, key: string, value: string, expected: string | null): KvInput {
  const roll = choices.int(100);
  if (roll < 45) return { op: 'get', key };
  if (roll < 80) return { op: 'put', key, value };
  if (roll < 90) return { op: 'cas', key, expected, value };
  return { op: 'delete', key };
}

/** An HTTP answer as an operation's output (see src/kv/README.md for the API). */
function interpret(input: KvInput, local: boolean, status: number, body: Record<string, unknown>): Attempt {
  const answer = (output: KvOutput): Attempt => ({ kind: 'answer', output });
  if (local && status === 200) {
    const data = body.data as Record<string, string>;
    return answer({ value: data[input.key] ?? null });
  }
  if (status === 200) {
    switch (input.op) {
      case 'get':
        return answer({ value: body.value as string });
      case 'put':
        return answer({ previous: body.previous as string | null });
      case 'delete':
        return answer({ deleted: body.deleted as boolean });
      case 'cas':
        return answer({ swapped: true });
    }
  }
  if (status === 404 && input.op === 'get') return answer({ value: null });
  if (status === 409 && input.op === 'cas' && 'current' in body)
    return answer({ swapped: false, current: body.current as string | null });
  if (status === 409 && /unknown or expired session/.test(String(body.error))) return { kind: 'refused' };
  if (status === 503 || status === 504 || status === 307) return { kind: 'retry' };
  throw new ClientBugError(
    `${input.op} ${input.key}: the service answered ${status} ${JSON.stringify(body)}`,
  );
}
