/** Part B of the lab: log agreement (6.824's 2B tests, with 6.5840's two failure tests). */
import { type Command, type Lab, RAFT_ELECTION_TIMEOUT } from '../harness.js';
import { allInTerm, checkNotCommitted, withStableTerm } from '../idioms.js';
import type { Scenario } from '../scenario.js';
import { sleep } from '../tasks.js';

export const agreementTests: readonly Scenario[] = [
  {
    name: 'basic agreement',
    servers: 3,
    *run(cfg: Lab) {
      for (let index = 1; index < 4; index++) {
        const [count] = cfg.nCommitted(index);
        if (count > 0) cfg.fail('some have committed before Start()');
        const xindex = yield* cfg.one(index * 100, cfg.n, false);
        if (xindex !== index) cfg.fail(`got index ${xindex} but expected ${index}`);
      }
    },
  },
  {
    // Each command should be sent to each peer just once (the budget allows for about one and a half).
    name: 'RPC byte count',
    servers: 3,
    *run(cfg: Lab) {
      yield* cfg.one(99, cfg.n, false);
      const bytes0 = cfg.bytesTotal();
      let sent = 0;
      for (let index = 2; index < 12; index++) {
        const command = cfg.randString(5_000);
        const xindex = yield* cfg.one(command, cfg.n, false);
        if (xindex !== index) cfg.fail(`got index ${xindex} but expected ${index}`);
        sent += command.length;
      }
      const got = cfg.bytesTotal() - bytes0;
      const expected = cfg.n * sent;
      if (got > expected + 50_000) cfg.fail(`too many RPC bytes; got ${got}, expected ${expected}`);
    },
  },
  {
    name: 'test progressive failure of followers',
    servers: 3,
    *run(cfg: Lab) {
      const servers = cfg.n;
      yield* cfg.one(101, servers, false);

      // The leader and the remaining follower should agree despite the disconnected follower.
      const leader1 = yield* cfg.checkOneLeader();
      cfg.disconnect((leader1 + 1) % servers);
      yield* cfg.one(102, servers - 1, false);
      yield* sleep(RAFT_ELECTION_TIMEOUT);
      yield* cfg.one(103, servers - 1, false);

      // Disconnect the remaining follower: a command submitted now must not commit.
      const leader2 = yield* cfg.checkOneLeader();
      cfg.disconnect((leader2 + 1) % servers);
      cfg.disconnect((leader2 + 2) % servers);
      const started = cfg.start(leader2, 104);
      if (started === null) cfg.fail('leader rejected Start()');
      if (started.index !== 4) cfg.fail(`expected index 4, got ${started.index}`);
      yield* sleep(2 * RAFT_ELECTION_TIMEOUT);
      checkNotCommitted(cfg, started.index);
    },
  },
  {
    name: 'test failure of leaders',
    servers: 3,
    *run(cfg: Lab) {
      const servers = cfg.n;
      yield* cfg.one(101, servers, false);

      // The remaining followers should elect a new leader.
      const leader1 = yield* cfg.checkOneLeader();
      cfg.disconnect(leader1);
      yield* cfg.one(102, servers - 1, false);
      yield* sleep(RAFT_ELECTION_TIMEOUT);
      yield* cfg.one(103, servers - 1, false);

      // Disconnect the new leader too and submit a command to each server: none has a majority.
      const leader2 = yield* cfg.checkOneLeader();
      cfg.disconnect(leader2);
      for (let i = 0; i < servers; i++) cfg.start(i, 104);
      yield* sleep(2 * RAFT_ELECTION_TIMEOUT);
      checkNotCommitted(cfg, 4);
    },
  },
  {
    name: 'agreement despite follower disconnection',
    servers: 3,
    *run(cfg: Lab) {
      const servers = cfg.n;
      yield* cfg.one(101, servers, false);

      // The leader and the remaining follower should agree despite the disconnected follower.
      const leader = yield* cfg.checkOneLeader();
      cfg.disconnect((leader + 1) % servers);
      yield* cfg.one(102, servers - 1, false);
      yield* cfg.one(103, servers - 1, false);
      yield* sleep(RAFT_ELECTION_TIMEOUT);
      yield* cfg.one(104, servers - 1, false);
      yield* cfg.one(105, servers - 1, false);

      // Re-connected, the full set should keep the previous agreements and agree on new commands.
      cfg.connect((leader + 1) % servers);
      yield* cfg.one(106, servers, true);
      yield* sleep(RAFT_ELECTION_TIMEOUT);
      yield* cfg.one(107, servers, true);
    },
  },
  {
    name: 'no agreement if too many followers disconnect',
    servers: 5,
    *run(cfg: Lab) {
      const servers = cfg.n;
      yield* cfg.one(10, servers, false);

      // 3 of 5 followers disconnect.
      const leader = yield* cfg.checkOneLeader();
      for (const offset of [1, 2, 3]) cfg.disconnect((leader + offset) % servers);
      const started = cfg.start(leader, 20);
      if (started === null) cfg.fail('leader rejected Start()');
      if (started.index !== 2) cfg.fail(`expected index 2, got ${started.index}`);
      yield* sleep(2 * RAFT_ELECTION_TIMEOUT);
      checkNotCommitted(cfg, started.index);

      // Repair. The disconnected majority may have chosen a leader among themselves, forgetting index 2.
      for (const offset of [1, 2, 3]) cfg.connect((leader + offset) % servers);
      const leader2 = yield* cfg.checkOneLeader();
      const started2 = cfg.start(leader2, 30);
      if (started2 === null) cfg.fail('leader2 rejected Start()');
      if (started2.index < 2 || started2.index > 3) cfg.fail(`unexpected index ${started2.index}`);
      yield* cfg.one(1000, servers, true);
    },
  },
  {
    // The lab's five concurrent Start()s are five proposals at the same virtual instant.
    name: 'concurrent Start()s',
    servers: 3,
    *run(cfg: Lab) {
      yield* withStableTerm(cfg, function* () {
        const leader = yield* cfg.checkOneLeader();
        const first = cfg.start(leader, 1);
        // The leader moved on really quickly.
        if (first === null) return false;
        const indexes: number[] = [];
        for (let i = 0; i < 5; i++) {
          const started = cfg.start(leader, 100 + i);
          if (started !== null && started.term === first.term) indexes.push(started.index);
        }
        if (!allInTerm(cfg, first.term)) return false;

        const commands: Command[] = [];
        for (const index of indexes) {
          const command = yield* cfg.wait(index, cfg.n, first.term);
          // Peers moved on to a later term, so we won't see all the commits.
          if (command === null) return false;
          if (typeof command !== 'number') cfg.fail(`value ${command} is not an int`);
          commands.push(command);
        }
        for (let i = 0; i < 5; i++) {
          if (!commands.includes(100 + i)) cfg.fail(`cmd ${100 + i} missing in ${commands}`);
        }
        return true;
      });
    },
  },
  {
    name: 'rejoin of partitioned leader',
    servers: 3,
    *run(cfg: Lab) {
      const servers = cfg.n;
      yield* cfg.one(101, servers, true);

      // Leader network failure; the old leader tries to agree on some entries.
      const leader1 = yield* cfg.checkOneLeader();
      cfg.disconnect(leader1);
      for (const command of [102, 103, 104]) cfg.start(leader1, command);

      // The new leader commits, also for index 2.
      yield* cfg.one(103, 2, true);

      // New leader network failure; the old leader connected again.
      const leader2 = yield* cfg.checkOneLeader();
      cfg.disconnect(leader2);
      cfg.connect(leader1);
      yield* cfg.one(104, 2, true);

      // All together now.
      cfg.connect(leader2);
      yield* cfg.one(105, servers, true);
    },
  },
  {
    name: 'leader backs up quickly over incorrect follower logs',
    servers: 5,
    *run(cfg: Lab) {
      const servers = cfg.n;
      const startMany = (leader: number): void => {
        for (let i = 0; i < 50; i++) cfg.start(leader, cfg.randInt());
      };
      yield* cfg.one(cfg.randInt(), servers, true);

      // Put the leader and one follower in a partition, and submit lots of commands that won't commit.
      const leader1 = yield* cfg.checkOneLeader();
      for (const offset of [2, 3, 4]) cfg.disconnect((leader1 + offset) % servers);
      startMany(leader1);
      yield* sleep(RAFT_ELECTION_TIMEOUT / 2);
      for (const offset of [0, 1]) cfg.disconnect((leader1 + offset) % servers);

      // Allow the other partition to recover, and commit lots of commands in it.
      for (const offset of [2, 3, 4]) cfg.connect((leader1 + offset) % servers);
      for (let i = 0; i < 50; i++) yield* cfg.one(cfg.randInt(), 3, true);

      // Now another partitioned leader and one follower, with lots more commands that won't commit.
      const leader2 = yield* cfg.checkOneLeader();
      let other = (leader1 + 2) % servers;
      if (leader2 === other) other = (leader2 + 1) % servers;
      cfg.disconnect(other);
      startMany(leader2);
      yield* sleep(RAFT_ELECTION_TIMEOUT / 2);

      // Bring the original leader back to life, with lots of successful commands in its new group.
      for (let i = 0; i < servers; i++) cfg.disconnect(i);
      for (const i of [leader1 % servers, (leader1 + 1) % servers, other]) cfg.connect(i);
      for (let i = 0; i < 50; i++) yield* cfg.one(cfg.randInt(), 3, true);

      // Now everyone.
      for (let i = 0; i < servers; i++) cfg.connect(i);
      yield* cfg.one(cfg.randInt(), servers, true);
    },
  },
  {
    name: "RPC counts aren't too high",
    servers: 3,
    *run(cfg: Lab) {
      yield* cfg.checkOneLeader();
      let total1 = cfg.rpcTotal();
      if (total1 > 30 || total1 < 1) cfg.fail(`too many or few RPCs (${total1}) to elect initial leader`);

      const iters = 10;
      let total2 = 0;
      yield* withStableTerm(cfg, function* () {
        const leader = yield* cfg.checkOneLeader();
        total1 = cfg.rpcTotal();
        const first = cfg.start(leader, 1);
        if (first === null) return false;
        const commands: number[] = [];
        for (let i = 1; i < iters + 2; i++) {
          const command = cfg.randInt();
          commands.push(command);
          const started = cfg.start(leader, command);
          if (started === null || started.term !== first.term) return false;
          if (started.index !== first.index + i) cfg.fail('Start() failed');
        }
        for (let i = 1; i < iters + 1; i++) {
          const command = yield* cfg.wait(first.index + i, cfg.n, first.term);
          if (command === null) return false;
          if (command !== commands[i - 1]) {
            cfg.fail(`wrong value ${command} committed for index ${first.index + i}; expected ${commands}`);
          }
        }
        total2 = cfg.rpcTotal();
        // The term changed: can't expect low RPC counts.
        if (!allInTerm(cfg, first.term)) return false;
        if (total2 - total1 > (iters + 1 + 3) * 3) {
          cfg.fail(`too many RPCs (${total2 - total1}) for ${iters} entries`);
        }
        return true;
      });

      yield* sleep(RAFT_ELECTION_TIMEOUT);
      const total3 = cfg.rpcTotal();
      if (total3 - total2 > 3 * 20) cfg.fail(`too many RPCs (${total3 - total2}) for 1 second of idleness`);
    },
  },
];
