import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertySeed } from './env.js';
import { expectCaught, expectHolds } from './expectations.js';
import { RejoinWatch, rejoinArbitrary } from './rejoin.js';
import { runScenario } from './run.js';

describe.each([3, 5])('on %i nodes', (size) => {
  it('with pre-vote, a follower that was cut off and times out again and again does not depose the leader', () => {
    expectHolds('rejoin', size, 60);
  });

  it('the histories ask it: nearly always a leader that all follow is there when the follower is cut off', () => {
    const scenarios = fc.sample(rejoinArbitrary(size), { numRuns: 20, seed: propertySeed() });
    const judged = scenarios.filter((scenario) => {
      const watch = new RejoinWatch();
      runScenario(scenario, {
        onAction: (action, _position, world) => watch.onAction(action, world.cluster),
      });
      return watch.judged;
    });
    expect(judged.length).toBeGreaterThanOrEqual(18);
  });
});

it('without pre-vote, the rejoining node deposes the leader: the property has teeth', () => {
  const caught = expectCaught({
    property: 'rejoin',
    size: 3,
    mutant: 'without-pre-vote',
    maxRuns: 50,
    timeLimitMs: 5_000,
    shrink: true,
  });
  expect(caught.failure?.trace.violation.property).toBe('no disruption on rejoin');
});
