/** Part A of the lab: leader election (6.824's 2A tests). */
import { type Lab, RAFT_ELECTION_TIMEOUT } from '../harness.js';
import type { Scenario } from '../scenario.js';
import { sleep } from '../tasks.js';

export const electionTests: readonly Scenario[] = [
  {
    name: 'initial election',
    servers: 3,
    *run(cfg: Lab) {
      // Is a leader elected?
      yield* cfg.checkOneLeader();

      // Sleep a bit to avoid racing with followers learning of the election, then check that all peers
      // agree on the term.
      yield* sleep(50);
      const term1 = cfg.checkTerms();
      if (term1 < 1) cfg.fail(`term is ${term1}, but should be at least 1`);

      // Does the leader+term stay the same if there is no network failure? (The lab only warns.)
      yield* sleep(2 * RAFT_ELECTION_TIMEOUT);
      const term2 = cfg.checkTerms();
      if (term1 !== term2) console.warn('warning: term changed even though there were no failures');

      // There should still be a leader.
      yield* cfg.checkOneLeader();
    },
  },
  {
    name: 'election after network failure',
    servers: 3,
    *run(cfg: Lab) {
      const servers = cfg.n;
      const leader1 = yield* cfg.checkOneLeader();

      // If the leader disconnects, a new one should be elected.
      cfg.disconnect(leader1);
      yield* cfg.checkOneLeader();

      // If the old leader rejoins, that shouldn't disturb the new leader.
      cfg.connect(leader1);
      const leader2 = yield* cfg.checkOneLeader();

      // If there's no quorum, no leader should be elected.
      cfg.disconnect(leader2);
      cfg.disconnect((leader2 + 1) % servers);
      yield* sleep(2 * RAFT_ELECTION_TIMEOUT);
      cfg.checkNoLeader();

      // If a quorum arises, it should elect a leader.
      cfg.connect((leader2 + 1) % servers);
      yield* cfg.checkOneLeader();

      // Re-join of last node shouldn't prevent leader from existing.
      cfg.connect(leader2);
      yield* cfg.checkOneLeader();
    },
  },
  {
    name: 'multiple elections',
    servers: 7,
    *run(cfg: Lab) {
      yield* cfg.checkOneLeader();
      for (let iters = 1; iters < 10; iters++) {
        // Disconnect three nodes (not necessarily distinct ones).
        const disconnected = [cfg.rand.int(0, cfg.n), cfg.rand.int(0, cfg.n), cfg.rand.int(0, cfg.n)];
        for (const i of disconnected) cfg.disconnect(i);

        // Either the current leader should still be alive, or the remaining four should elect a new one.
        yield* cfg.checkOneLeader();

        for (const i of disconnected) cfg.connect(i);
      }
      yield* cfg.checkOneLeader();
    },
  },
];
