/**
 * Membership changes as faults, made through the admin API as `pureraft member` makes them: a member (a
 * follower, or the leader itself) is removed from the configuration (`DELETE /cluster/members/{id}`), runs on
 * with its data while it is out, cut off by the members' transports and part of no quorum, and the heal adds it
 * back the way a user adds a machine: `POST /cluster/learners` with its addresses, then `POST /cluster/promote`
 * once it has caught up, until the configuration has it as a voter again.
 *
 * Each step is retried within a bound: a change is refused while another is in progress (409), a learner far
 * behind is not promoted yet (409), a node that knows no leader answers 503, a change not committed in time 504
 * (and may still be: every try starts from what `GET /cluster` says now). What it took is told in the fault's
 * timeline entry; a change that runs out of time throws, which the schedule records as a heal that failed.
 */
import { type AdminAnswer, type AdminCall, adminCall, failure } from '../../cli/admin-client.js';
import { type ClusterView, formatAddress } from '../../kv/index.js';
import { sleep, type TortureCluster } from './cluster.js';

/** How long a removal or a re-addition may take, retries included. */
export const CHANGE_BOUND_MS = 30_000;
/** One admin call: the leader answers a change once it is committed, or 504 after its proposal timeout (10 s). */
const CALL_TIMEOUT_MS = 12_000;
const RETRY_PAUSE_MS = 200;

/** What a bounded change took: how many requests, how long, and the refusals on the way (counted by reason). */
class Attempts {
  /** By the reason's shape (its numbers left out, "it is 150 entries behind" then 120): the last one, how many. */
  readonly #refusals = new Map<string, { last: string; count: number }>();
  readonly #began = performance.now();
  requests = 0;

  refused(reason: string): void {
    const shape = reason.replace(/\d+/g, '#');
    this.#refusals.set(shape, { last: reason, count: (this.#refusals.get(shape)?.count ?? 0) + 1 });
  }

  get elapsedMs(): number {
    return performance.now() - this.#began;
  }

  toString(): string {
    const refusals = [...this.#refusals.values()].map(({ last, count }) =>
      count === 1 ? last : `${last} ×${count}`,
    );
    return `${this.requests} request${this.requests === 1 ? '' : 's'}, ${(this.elapsedMs / 1000).toFixed(1)} s${
      refusals.length === 0 ? '' : `; refused: ${refusals.join('; ')}`
    }`;
  }
}

/**
 * Runs `step` (which makes at most one change from the configuration it is shown) until it reports the goal
 * reached, for at most CHANGE_BOUND_MS; throws, saying what was tried, when the bound runs out.
 */
async function untilDone(
  cluster: TortureCluster,
  goal: string,
  step: (view: ClusterView, attempts: Attempts) => Promise<'done' | 'again'>,
): Promise<Attempts> {
  const attempts = new Attempts();
  while (attempts.elapsedMs < CHANGE_BOUND_MS) {
    const answer = await call(cluster, attempts, { method: 'GET', path: '/cluster' });
    if (answer !== undefined && (await step(answer.body as unknown as ClusterView, attempts)) === 'done')
      return attempts;
    await sleep(RETRY_PAUSE_MS);
  }
  throw new Error(`${goal}: not done within ${CHANGE_BOUND_MS / 1000} s (${attempts})`);
}

/**
 * One admin call to the leader if one answers (else any running node, which redirects to the leader it knows);
 * undefined, with the refusal counted, unless it succeeded.
 */
async function call(
  cluster: TortureCluster,
  attempts: Attempts,
  request: Omit<AdminCall, 'timeoutMs'>,
): Promise<AdminAnswer | undefined> {
  const running = cluster.ids.filter((id) => cluster.running(id));
  const node = (await cluster.leader()) ?? running[attempts.requests % running.length];
  if (node === undefined) {
    attempts.refused('no node running');
    return undefined;
  }
  attempts.requests++;
  try {
    const answer = await adminCall(cluster.url(node), { ...request, timeoutMs: CALL_TIMEOUT_MS });
    if (answer.status === 200) return answer;
    attempts.refused(`${request.method} ${request.path} ${failure(answer)}`);
  } catch (error) {
    attempts.refused(`${request.method} ${request.path}: ${(error as Error).message}`);
  }
  return undefined;
}

function roleOf(view: ClusterView, id: string): ClusterView['members'][number]['role'] | undefined {
  return view.members.find((member) => member.id === id)?.role;
}

/** Removes `id` (a voter) from the configuration; resolves once a configuration without it is committed. */
export async function removeMember(cluster: TortureCluster, id: string): Promise<Attempts> {
  return untilDone(cluster, `remove ${id}`, async (view, attempts) => {
    if (roleOf(view, id) === undefined && !view.changing) return 'done';
    if (view.changing) return 'again'; // the joint configuration is left by the leader on its own
    const answer = await call(cluster, attempts, { method: 'DELETE', path: `/cluster/members/${id}` });
    return answer === undefined ? 'again' : 'done';
  });
}

/**
 * Adds `id` back as a user would: a learner at its addresses, then a voter once the leader lets it be promoted;
 * resolves once the configuration in force has it as a voter.
 */
export async function addBack(cluster: TortureCluster, id: string): Promise<Attempts> {
  const { raft, http } = cluster.addresses(id);
  return untilDone(cluster, `add ${id} back`, async (view, attempts) => {
    const role = roleOf(view, id);
    if (role === 'voter' && !view.changing) return 'done';
    if (view.changing) return 'again';
    if (role === undefined) {
      const learner = { id, raft: formatAddress(raft), http: formatAddress(http) };
      await call(cluster, attempts, { method: 'POST', path: '/cluster/learners', body: learner });
      return 'again'; // then promote it
    }
    const answer = await call(cluster, attempts, { method: 'POST', path: '/cluster/promote', body: { id } });
    return answer === undefined ? 'again' : 'done';
  });
}
