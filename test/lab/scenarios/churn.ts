/**
 * Part C of the lab: churn (6.824's 2C churn tests). Three clients keep proposing random commands to
 * whichever servers accept them while servers are disconnected, crashed and restarted at random; at the
 * end, every value a client saw committed must be in the log that all servers agree on.
 */
import { type Lab, RAFT_ELECTION_TIMEOUT } from '../harness.js';
import type { Scenario } from '../scenario.js';
import { sleep, type Task } from '../tasks.js';

/** A client: proposes until `stopped()`, and returns the values it saw committed at their index. */
function* client(cfg: Lab, me: number, stopped: () => boolean): Task<number[]> {
  const values: number[] = [];
  while (!stopped()) {
    const x = cfg.randInt();
    let index = -1;
    // Try them all, maybe one of them is a leader.
    for (let i = 0; i < cfg.n; i++) {
      const started = cfg.isUp(i) ? cfg.start(i, x) : null;
      if (started !== null) index = started.index;
    }
    if (index === -1) {
      yield* sleep(79 + me * 17);
      continue;
    }
    // Maybe the leader will commit our value, maybe not, but don't wait forever.
    for (const to of [10, 20, 50, 100, 200]) {
      const [count, command] = cfg.nCommitted(index);
      if (count > 0) {
        if (command === x) values.push(x);
        break;
      }
      yield* sleep(to);
    }
  }
  return values;
}

function* churn(cfg: Lab): Task {
  const servers = cfg.n;
  let stop = false;
  const clients = [0, 1, 2].map((me) => cfg.tasks.spawn(client(cfg, me, () => stop)));

  for (let iters = 0; iters < 20; iters++) {
    if (cfg.rand.int(0, 1000) < 200) cfg.disconnect(cfg.rand.int(0, servers));
    if (cfg.rand.int(0, 1000) < 500) {
      const i = cfg.rand.int(0, servers);
      if (!cfg.isUp(i)) cfg.start1(i);
      cfg.connect(i);
    }
    if (cfg.rand.int(0, 1000) < 200) {
      const i = cfg.rand.int(0, servers);
      if (cfg.isUp(i)) cfg.crash1(i);
    }
    // Infrequent enough that the peers can often keep up, but not so infrequent that everything has settled
    // down from one change to the next: smaller than the election timeout, but not hugely smaller.
    yield* sleep((RAFT_ELECTION_TIMEOUT * 7) / 10);
  }

  yield* sleep(RAFT_ELECTION_TIMEOUT);
  cfg.setUnreliable(false);
  for (let i = 0; i < servers; i++) {
    if (!cfg.isUp(i)) cfg.start1(i);
    cfg.connect(i);
  }
  stop = true;
  yield* cfg.tasks.join(clients);
  const values = clients.flatMap((spawned) => spawned.result ?? cfg.fail('client failed'));

  yield* sleep(RAFT_ELECTION_TIMEOUT);
  const lastIndex = yield* cfg.one(cfg.randInt(), servers, true);
  const really = new Set<unknown>();
  for (let index = 1; index <= lastIndex; index++) really.add(yield* cfg.wait(index, servers, -1));
  for (const value of values) if (!really.has(value)) cfg.fail(`didn't find a value (${value})`);
}

export const churnTests: readonly Scenario[] = [
  { name: 'churn', servers: 5, run: churn },
  { name: 'unreliable churn', servers: 5, unreliable: true, run: churn },
];
