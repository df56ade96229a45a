/** For tests of the HTTP layer alone: a ClusterApi that answers at once, or redirects like a follower. */
import type { NodeId } from '../core/index.js';
import { NotLeaderError } from '../runtime/node/index.js';
import type { ChangeAnswer, ClusterView, LearnerRequest } from './cluster-admin.js';
import type { ClusterApi } from './http.js';

/** Records each call (`calls`); with `leader`, every call rejects with NotLeaderError(leader). */
export class FakeClusterApi implements ClusterApi {
  readonly calls: string[] = [];
  #voters: NodeId[] = ['n1'];
  #learners: NodeId[] = [];

  constructor(private readonly leader?: NodeId) {}

  async view(): Promise<ClusterView> {
    this.#call('view');
    const membership = { voters: [...this.#voters], learners: [...this.#learners] };
    return {
      leader: 'n1',
      term: 1,
      lastIndex: 1,
      commitIndex: 1,
      changing: false,
      membership,
      members: [],
    };
  }

  async addLearner(request: LearnerRequest): Promise<ChangeAnswer> {
    this.#call(`add ${request.id} ${request.raft} ${request.http}`);
    this.#learners.push(request.id);
    return this.#answer(request.id);
  }

  async promote(id: NodeId): Promise<ChangeAnswer> {
    this.#call(`promote ${id}`);
    this.#learners = this.#learners.filter((learner) => learner !== id);
    this.#voters.push(id);
    return this.#answer(id);
  }

  async remove(id: NodeId): Promise<ChangeAnswer> {
    this.#call(`remove ${id}`);
    this.#voters = this.#voters.filter((voter) => voter !== id);
    this.#learners = this.#learners.filter((learner) => learner !== id);
    return this.#answer(id);
  }

  #call(what: string): void {
    if (this.leader !== undefined) throw new NotLeaderError(this.leader);
    this.calls.push(what);
  }

  #answer(id: NodeId): ChangeAnswer {
    return { id, membership: { voters: [...this.#voters], learners: [...this.#learners] } };
  }
}
