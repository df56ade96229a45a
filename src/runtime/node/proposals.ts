/**
 * Proposals awaiting their answer. A proposal waits in the node's queue until it is stepped, then is tracked by
 * the index and term the leader gave its entry until an entry is applied at that index: the same term means it
 * is ours (Log Matching), another term means leadership changed and ours was replaced. Every proposal has a
 * deadline, and the book holds a bounded number of them, queued and in flight together.
 */
import type { Clock } from '../../effects/timers/index.js';
import {
  OverloadedError,
  ProposalLostError,
  ProposalOutcomeUnknownError,
  ProposalTimeoutError,
} from './errors.js';

export interface Waiter<R> {
  readonly resolve: (result: R) => void;
  readonly reject: (error: Error) => void;
}

/** One client's proposal, settled exactly once: by commit, loss, timeout or stop, whichever comes first. */
export interface Proposal {
  /** Settled already (timed out while queued, say): not worth proposing any more. */
  readonly settled: boolean;
}

interface OpenProposal<R> extends Proposal {
  settled: boolean;
  readonly waiter: Waiter<R>;
  cancelDeadline: () => void;
  /** Where its entry is in the log, once stepped. */
  index?: number;
  term?: number;
}

export class ProposalBook<R> {
  readonly #open = new Set<OpenProposal<R>>();
  readonly #byIndex = new Map<number, OpenProposal<R>>();

  constructor(
    private readonly clock: Clock,
    readonly timeoutMs: number,
    /** Most proposals open at once, queued or in flight. */
    readonly limit: number,
  ) {}

  /** Proposals queued or awaiting commit. */
  get size(): number {
    return this.#open.size;
  }

  /** Opens a proposal, or throws `OverloadedError` when the book is full. */
  open(waiter: Waiter<R>): Proposal {
    if (this.#open.size >= this.limit) throw new OverloadedError(this.limit);
    const proposal: OpenProposal<R> = { settled: false, waiter, cancelDeadline: () => {} };
    proposal.cancelDeadline = this.clock.schedule(this.timeoutMs, () =>
      this.#reject(proposal, new ProposalTimeoutError(this.timeoutMs)),
    );
    this.#open.add(proposal);
    return proposal;
  }

  /** The proposal's entry is in the log at `index`, in `term`. */
  track(proposal: Proposal, index: number, term: number): void {
    const open = proposal as OpenProposal<R>;
    if (open.settled) return;
    // Another proposal waiting at this index (leadership lost and regained at the same index) was replaced by
    // this one: it will never be applied, so say so now rather than let it time out.
    const replaced = this.#byIndex.get(index);
    if (replaced !== undefined && replaced !== open)
      this.#reject(replaced, new ProposalLostError(index, replaced.term!));
    open.index = index;
    open.term = term;
    this.#byIndex.set(index, open);
  }

  reject(proposal: Proposal, error: Error): void {
    this.#reject(proposal as OpenProposal<R>, error);
  }

  /** An entry was applied: answers the proposal waiting at its index, if any. */
  applied(index: number, term: number, result: R | undefined): void {
    const proposal = this.#byIndex.get(index);
    if (proposal === undefined) return;
    if (proposal.term !== term) {
      this.#reject(proposal, new ProposalLostError(index, proposal.term!));
      return;
    }
    // Same index and term: the very entry we proposed, a command, so the state machine gave a result.
    this.#settle(proposal);
    proposal.waiter.resolve(result as R);
  }

  /** A snapshot through `index` was restored: the proposals at or below it will never be applied here. */
  restored(index: number): void {
    for (const [at, proposal] of this.#byIndex) {
      if (at <= index) this.#reject(proposal, new ProposalOutcomeUnknownError(at));
    }
  }

  /**
   * Answers every open proposal: with `error` if it was never stepped (it is not in the log, so retrying it is
   * safe), else with `ProposalOutcomeUnknownError` (its entry may have reached a majority: another leader may
   * commit it).
   */
  rejectAll(error: Error): void {
    for (const proposal of [...this.#open]) {
      this.#reject(
        proposal,
        proposal.index === undefined
          ? error
          : new ProposalOutcomeUnknownError(
              proposal.index,
              `the node stopped (${error.message}) after the proposal went into its log`,
              { cause: error },
            ),
      );
    }
  }

  #reject(proposal: OpenProposal<R>, error: Error): void {
    if (!proposal.settled) {
      this.#settle(proposal);
      proposal.waiter.reject(error);
    }
  }

  #settle(proposal: OpenProposal<R>): void {
    proposal.settled = true;
    proposal.cancelDeadline();
    this.#open.delete(proposal);
    if (proposal.index !== undefined && this.#byIndex.get(proposal.index) === proposal) {
      this.#byIndex.delete(proposal.index);
    }
  }
}
