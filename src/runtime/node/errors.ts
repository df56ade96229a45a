/** Why a proposal was refused or lost; each names what the client should do next. */
import type { NodeId } from '../../core/index.js';

/** Only the leader takes proposals. `leaderId` is this node's best guess of who is, if it has one. */
export class NotLeaderError extends Error {
  override readonly name = 'NotLeaderError';

  constructor(readonly leaderId: NodeId | null) {
    super(
      leaderId === null
        ? 'this node is not the leader and knows of no leader yet; retry shortly'
        : `this node is not the leader; the leader is ${leaderId}`,
    );
  }
}

/** Too many proposals are queued or awaiting commit: back off and retry. */
export class OverloadedError extends Error {
  override readonly name = 'OverloadedError';

  constructor(readonly limit: number) {
    super(`overloaded: ${limit} proposals are already queued or awaiting commit; retry later`);
  }
}

/**
 * The command is larger than the transport can carry in one message (`Transport.maxCommandBytes`): in the log it
 * could never reach a follower. Nothing was proposed.
 */
export class CommandTooLargeError extends RangeError {
  override readonly name = 'CommandTooLargeError';

  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`the command is ${bytes} bytes, over the ${limit} one message can carry; it was not proposed`);
  }
}

/** Leadership changed and another entry was committed where the proposal was: it will never be applied. */
export class ProposalLostError extends Error {
  override readonly name = 'ProposalLostError';

  constructor(
    readonly index: number,
    readonly term: number,
  ) {
    super(
      `leadership changed: the entry proposed at index ${index} in term ${term} was replaced by another; it was not applied`,
    );
  }
}

/** No answer in time: the proposal may still be committed later, so retry only what is safe to repeat. */
export class ProposalTimeoutError extends Error {
  override readonly name = 'ProposalTimeoutError';

  constructor(readonly timeoutMs: number) {
    super(`no commit within ${timeoutMs} ms; the proposal may or may not be applied later`);
  }
}

/** The node stopped (or failed) before the proposal was answered; it may or may not be applied. */
export class NodeStoppedError extends Error {
  override readonly name: string = 'NodeStoppedError';

  constructor(reason = 'the node is not running') {
    super(reason);
  }
}

/**
 * The node's storage failed a write (a full disk, an I/O error): it takes no part in the cluster and refuses
 * requests until it can write again, which it retries by itself. `cause` says why.
 */
export class StorageUnavailableError extends NodeStoppedError {
  override readonly name = 'StorageUnavailableError';

  constructor(override readonly cause: Error) {
    super(`storage unavailable: ${cause.message}; retrying until it takes writes again`);
  }
}

/**
 * The proposal's entry went into the log, and then the node lost track of it: it restored a snapshot that covers
 * the entry (it had lost leadership, and caught up from a newer leader's snapshot), or it stopped or stepped
 * aside (a failed disk write) before the entry was applied. The leader sends its entries while it writes them
 * (thesis §10.2.1), so another leader may commit the entry all the same: whether it was is not known here.
 * Retry only what is safe to repeat (the KV service's sessions make a retry of the same request safe).
 */
export class ProposalOutcomeUnknownError extends Error {
  override readonly name = 'ProposalOutcomeUnknownError';

  constructor(
    readonly index: number,
    why = `a snapshot through index ${index} replaced the log here`,
    options?: ErrorOptions,
  ) {
    super(`${why}; the proposal at index ${index} may or may not have been applied`, options);
  }
}

/** A request the core ignored (a membership change while another is in progress, a transfer to a non-voter). */
export class RequestRefusedError extends Error {
  override readonly name = 'RequestRefusedError';
}

/** A leadership transfer, read or membership change that got no answer in time. */
export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';

  constructor(
    what: string,
    readonly timeoutMs: number,
  ) {
    super(`${what}: no answer within ${timeoutMs} ms`);
  }
}

/** A leadership transfer ended without its target leading: it did not win in time, or another node won. */
export class TransferFailedError extends Error {
  override readonly name = 'TransferFailedError';

  constructor(
    readonly target: NodeId,
    /** Who leads now, as this node knows. */
    readonly leaderId: NodeId,
  ) {
    super(
      `the transfer of leadership to ${target} failed: the target did not win an election; ${leaderId} leads`,
    );
  }
}
