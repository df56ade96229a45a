import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../effects/timers/index.js';
import {
  NodeStoppedError,
  ProposalLostError,
  ProposalOutcomeUnknownError,
  ProposalTimeoutError,
} from './errors.js';
import { ProposalBook } from './proposals.js';

function opened(book: ProposalBook<string>) {
  const outcome: { value?: string; error?: Error } = {};
  const proposal = book.open({
    resolve: (value) => {
      outcome.value = value;
    },
    reject: (error) => {
      outcome.error = error;
    },
  });
  return { proposal, outcome };
}

describe('ProposalBook', () => {
  it('rejects all: a proposal not in the log yet with the reason, one in the log as of unknown outcome', () => {
    const book = new ProposalBook<string>(new ManualClock(), 1000, 10);
    const queued = opened(book);
    const inLog = opened(book);
    book.track(inLog.proposal, 4, 2);
    const stopped = new NodeStoppedError('node a stopped');
    book.rejectAll(stopped);
    // Never stepped: not in any log, so a retry cannot apply it twice.
    expect(queued.outcome.error).toBe(stopped);
    // In the log, maybe sent to the followers: another leader may commit it.
    expect(inLog.outcome.error).toBeInstanceOf(ProposalOutcomeUnknownError);
    expect(inLog.outcome.error).toMatchObject({ index: 4, cause: stopped });
    expect(book.size).toBe(0);
  });

  it('answers a proposal when its entry is applied in its term, and rejects it in another', () => {
    const book = new ProposalBook<string>(new ManualClock(), 1000, 10);
    const a = opened(book);
    const b = opened(book);
    book.track(a.proposal, 1, 1);
    book.track(b.proposal, 2, 1);
    book.applied(1, 1, 'ok');
    book.applied(2, 2, 'theirs');
    expect(a.outcome).toEqual({ value: 'ok' });
    expect(b.outcome.error).toBeInstanceOf(ProposalLostError);
    expect(book.size).toBe(0);
  });

  it('rejects at once the proposal replaced at the same index, instead of leaving it to time out', () => {
    const clock = new ManualClock();
    const book = new ProposalBook<string>(clock, 1000, 10);
    const first = opened(book);
    const second = opened(book);
    book.track(first.proposal, 5, 2);
    // Leadership lost and regained: the new leader's log is back at index 4, so the next entry is at 5 again.
    book.track(second.proposal, 5, 4);
    expect(first.outcome.error).toBeInstanceOf(ProposalLostError);
    expect(first.outcome.error).toMatchObject({ index: 5, term: 2 });
    expect(first.proposal.settled).toBe(true);
    expect(book.size).toBe(1);
    book.applied(5, 4, 'second');
    expect(second.outcome).toEqual({ value: 'second' });
    clock.advance(1000);
    expect(first.outcome.error).not.toBeInstanceOf(ProposalTimeoutError);
    expect(book.size).toBe(0);
  });

  it('does not reject a proposal tracked again at its own index', () => {
    const book = new ProposalBook<string>(new ManualClock(), 1000, 10);
    const only = opened(book);
    book.track(only.proposal, 3, 1);
    book.track(only.proposal, 3, 1);
    expect(only.outcome).toEqual({});
    book.applied(3, 1, 'done');
    expect(only.outcome).toEqual({ value: 'done' });
  });
});
