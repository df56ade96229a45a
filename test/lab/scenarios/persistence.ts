/** Part C of the lab: persistence across crashes and restarts (6.824's 2C persistence tests). */
import { type Lab, RAFT_ELECTION_TIMEOUT } from '../harness.js';
import type { Scenario } from '../scenario.js';
import { sleep } from '../tasks.js';

export const persistenceTests: readonly Scenario[] = [
  {
    name: 'basic persistence',
    servers: 3,
    *run(cfg: Lab) {
      const servers = cfg.n;
      yield* cfg.one(11, servers, true);

      // Crash and restart all.
      for (let i = 0; i < servers; i++) cfg.start1(i);
      for (let i = 0; i < servers; i++) {
        cfg.disconnect(i);
        cfg.connect(i);
      }
      yield* cfg.one(12, servers, true);

      const leader1 = yield* cfg.checkOneLeader();
      cfg.disconnect(leader1);
      cfg.start1(leader1);
      cfg.connect(leader1);
      yield* cfg.one(13, servers, true);

      const leader2 = yield* cfg.checkOneLeader();
      cfg.disconnect(leader2);
      yield* cfg.one(14, servers - 1, true);
      cfg.start1(leader2);
      cfg.connect(leader2);

      // Wait for leader2 to join before killing i3.
      yield* cfg.wait(4, servers, -1);

      const i3 = ((yield* cfg.checkOneLeader()) + 1) % servers;
      cfg.disconnect(i3);
      yield* cfg.one(15, servers - 1, true);
      cfg.start1(i3);
      cfg.connect(i3);
      yield* cfg.one(16, servers, true);
    },
  },
  {
    name: 'more persistence',
    servers: 5,
    *run(cfg: Lab) {
      const servers = cfg.n;
      let index = 1;
      for (let iters = 0; iters < 5; iters++) {
        yield* cfg.one(10 + index++, servers, true);

        const leader1 = yield* cfg.checkOneLeader();
        const server = (offset: number): number => (leader1 + offset) % servers;
        cfg.disconnect(server(1));
        cfg.disconnect(server(2));
        yield* cfg.one(10 + index++, servers - 2, true);

        cfg.disconnect(server(0));
        cfg.disconnect(server(3));
        cfg.disconnect(server(4));
        cfg.start1(server(1));
        cfg.start1(server(2));
        cfg.connect(server(1));
        cfg.connect(server(2));
        yield* sleep(RAFT_ELECTION_TIMEOUT);

        cfg.start1(server(3));
        cfg.connect(server(3));
        yield* cfg.one(10 + index++, servers - 2, true);

        cfg.connect(server(4));
        cfg.connect(server(0));
      }
      yield* cfg.one(1000, servers, true);
    },
  },
  {
    name: 'partitioned leader and one follower crash, leader restarts',
    servers: 3,
    *run(cfg: Lab) {
      const servers = cfg.n;
      yield* cfg.one(101, 3, true);

      const leader = yield* cfg.checkOneLeader();
      cfg.disconnect((leader + 2) % servers);
      yield* cfg.one(102, 2, true);

      cfg.crash1((leader + 0) % servers);
      cfg.crash1((leader + 1) % servers);
      cfg.connect((leader + 2) % servers);
      cfg.start1((leader + 0) % servers);
      cfg.connect((leader + 0) % servers);
      yield* cfg.one(103, 2, true);

      cfg.start1((leader + 1) % servers);
      cfg.connect((leader + 1) % servers);
      yield* cfg.one(104, servers, true);
    },
  },
];
