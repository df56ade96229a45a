/**
 * Part C of the lab: Figure 8 and agreement on an unreliable network (6.824's 2C tests). Figure 8 of the
 * Raft paper is the case where an entry of an old term sits on a majority and is still overwritten, unless
 * a leader only counts replicas of entries of its own term; these tests churn leaders until it happens.
 */
import { type Lab, RAFT_ELECTION_TIMEOUT } from '../harness.js';
import type { Scenario } from '../scenario.js';
import { type Spawned, sleep, type Task } from '../tasks.js';

/** Mostly a few milliseconds, sometimes up to half an election timeout: leaders get some, not all, done. */
function* figure8Pause(cfg: Lab): Task {
  if (cfg.rand.int(0, 1000) < 100) yield* sleep(cfg.rand.int(0, RAFT_ELECTION_TIMEOUT / 2));
  else yield* sleep(cfg.rand.int(0, 13));
}

export const figure8Tests: readonly Scenario[] = [
  {
    name: 'Figure 8',
    servers: 5,
    *run(cfg: Lab) {
      const servers = cfg.n;
      yield* cfg.one(cfg.randInt(), 1, true);

      let nup = servers;
      for (let iters = 0; iters < 1000; iters++) {
        let leader = -1;
        for (let i = 0; i < servers; i++) {
          if (cfg.isUp(i) && cfg.start(i, cfg.randInt()) !== null) leader = i;
        }
        yield* figure8Pause(cfg);
        if (leader !== -1) {
          cfg.crash1(leader);
          nup--;
        }
        if (nup < 3) {
          const s = cfg.rand.int(0, servers);
          if (!cfg.isUp(s)) {
            cfg.start1(s);
            cfg.connect(s);
            nup++;
          }
        }
      }

      for (let i = 0; i < servers; i++) {
        if (!cfg.isUp(i)) {
          cfg.start1(i);
          cfg.connect(i);
        }
      }
      yield* cfg.one(cfg.randInt(), servers, true);
    },
  },
  {
    name: 'unreliable agreement',
    servers: 5,
    unreliable: true,
    *run(cfg: Lab) {
      const clients: Spawned<number>[] = [];
      for (let iters = 1; iters < 50; iters++) {
        for (let j = 0; j < 4; j++) clients.push(cfg.tasks.spawn(cfg.one(100 * iters + j, 1, true)));
        yield* cfg.one(iters, 1, true);
      }
      cfg.setUnreliable(false);
      yield* cfg.tasks.join(clients);
      yield* cfg.one(100, cfg.n, true);
    },
  },
  {
    name: 'Figure 8 (unreliable)',
    servers: 5,
    unreliable: true,
    *run(cfg: Lab) {
      const servers = cfg.n;
      yield* cfg.one(cfg.rand.int(0, 10_000), 1, true);

      let nup = servers;
      for (let iters = 0; iters < 1000; iters++) {
        if (iters === 200) cfg.setLongReordering(true);
        let leader = -1;
        for (let i = 0; i < servers; i++) {
          if (cfg.start(i, cfg.rand.int(0, 10_000)) !== null && cfg.connected[i]) leader = i;
        }
        yield* figure8Pause(cfg);
        if (leader !== -1 && cfg.rand.int(0, 1000) < RAFT_ELECTION_TIMEOUT / 2) {
          cfg.disconnect(leader);
          nup--;
        }
        if (nup < 3) {
          const s = cfg.rand.int(0, servers);
          if (!cfg.connected[s]) {
            cfg.connect(s);
            nup++;
          }
        }
      }

      for (let i = 0; i < servers; i++) if (!cfg.connected[i]) cfg.connect(i);
      yield* cfg.one(cfg.rand.int(0, 10_000), servers, true);
    },
  },
];
