/**
 * The README's tour of the reducer shows what `init` and a first election timeout give. It drifted once (pre-vote
 * came on by default and the tour still showed an election): here the tour's config is run and its comments
 * are checked against what the core returns.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { init, status, step } from '../../src/core/index.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const tour = /## A five-minute tour of the reducer\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';

it("the README's tour shows what the core does", () => {
  expect(tour).toContain('preVote: false');
  let [state, effects] = init<string>({
    id: 'a',
    voters: ['a', 'b', 'c'],
    electionTimeout: [150, 300],
    heartbeatInterval: 50,
    seed: 1,
    preVote: false,
  });
  const delays = [...tour.matchAll(/timer: 'election', delay: (\d+)/g)].map(([, delay]) => Number(delay));
  expect(effects).toEqual([{ type: 'setTimer', timer: 'election', delay: delays[0] }]);
  [state, effects] = step(state, { type: 'timeout', timer: 'election' });
  expect(status(state)).toMatchObject({ role: 'candidate', term: 1, votedFor: 'a' });
  expect(tour).toContain("status(state); // { role: 'candidate', term: 1, votedFor: 'a', ... }");
  expect(
    effects.map((effect) =>
      effect.type === 'send' ? `send ${effect.message.type} to ${effect.message.to}` : effect.type,
    ),
  ).toEqual(['persist', 'send RequestVote to b', 'send RequestVote to c', 'setTimer']);
  expect(effects[0]).toEqual({ type: 'persist', hardState: { term: 1, votedFor: 'a' } });
  expect(effects[3]).toEqual({ type: 'setTimer', timer: 'election', delay: delays[1] });
  // The tour's vote (it used a voteFromB it never defined) makes a leader, which then takes the proposal.
  expect(tour).toContain(
    "const voteFromB = { type: 'RequestVoteResponse', term: 1, from: 'b', to: 'a', voteGranted: true } as const;",
  );
  const voteFromB = { type: 'RequestVoteResponse', term: 1, from: 'b', to: 'a', voteGranted: true } as const;
  [state] = step(state, { type: 'receive', message: voteFromB });
  expect(status(state).role).toBe('leader');
  [state] = step(state, { type: 'propose', command: 'set x=1' });
  expect(status(state).lastIndex).toBe(2);
});
