/** Part D of the lab: log compaction, InstallSnapshot and restarts from a snapshot (6.824's 2D tests). */
import { MAX_LOG_SIZE, SNAPSHOT_INTERVAL } from '../applier.js';
import type { Lab } from '../harness.js';
import type { Scenario } from '../scenario.js';

/** How many commands a test sends at once "perhaps to get a snapshot": half an interval to one and a half. */
function burst(cfg: Lab): number {
  return SNAPSHOT_INTERVAL / 2 + (cfg.randInt() % SNAPSHOT_INTERVAL);
}

/** crash1 every server, then start1 and connect each: they all come back from what they stored. */
function crashAndRestartAll(cfg: Lab): void {
  for (let i = 0; i < cfg.n; i++) cfg.crash1(i);
  for (let i = 0; i < cfg.n; i++) {
    cfg.start1(i);
    cfg.connect(i);
  }
}

interface Faults {
  /** Cut a server off for a while: it falls behind and needs InstallSnapshot to catch up. */
  readonly disconnect: boolean;
  readonly reliable: boolean;
  /** Crash a server for a while: it comes back from its own snapshot, then catches up. */
  readonly crash: boolean;
}

/** snapcommon: 30 rounds of commands, enough for snapshots on every server, with a victim each round. */
function snapcommon(name: string, { disconnect, reliable, crash }: Faults): Scenario {
  return {
    name,
    servers: 3,
    unreliable: !reliable,
    snapshots: true,
    *run(cfg: Lab) {
      const servers = cfg.n;
      yield* cfg.one(cfg.randInt(), servers, true);
      let leader1 = yield* cfg.checkOneLeader();

      for (let i = 0; i < 30; i++) {
        let victim = (leader1 + 1) % servers;
        let sender = leader1;
        if (i % 3 === 1) {
          sender = (leader1 + 1) % servers;
          victim = leader1;
        }

        if (disconnect) {
          cfg.disconnect(victim);
          yield* cfg.one(cfg.randInt(), servers - 1, true);
        }
        if (crash) {
          cfg.crash1(victim);
          yield* cfg.one(cfg.randInt(), servers - 1, true);
        }

        // Perhaps send enough to get a snapshot (the sender need not be the leader).
        const nn = burst(cfg);
        for (let j = 0; j < nn; j++) cfg.start(sender, cfg.randInt());

        // Let the appliers catch up with the Start()s; with nobody away, every follower catches up, so
        // that snapshots basic needs no InstallSnapshot.
        yield* cfg.one(cfg.randInt(), disconnect || crash ? servers - 1 : servers, true);

        if (cfg.logSize() >= MAX_LOG_SIZE) cfg.fail('Log size too large');

        if (disconnect) {
          // A follower that may be behind, and needs a snapshot to catch up.
          cfg.connect(victim);
          yield* cfg.one(cfg.randInt(), servers, true);
          leader1 = yield* cfg.checkOneLeader();
        }
        if (crash) {
          cfg.start1(victim);
          cfg.connect(victim);
          yield* cfg.one(cfg.randInt(), servers, true);
          leader1 = yield* cfg.checkOneLeader();
        }
      }
    },
  };
}

export const snapshotTests: readonly Scenario[] = [
  snapcommon('snapshots basic', { disconnect: false, reliable: true, crash: false }),
  snapcommon('install snapshots (disconnect)', { disconnect: true, reliable: true, crash: false }),
  snapcommon('install snapshots (disconnect+unreliable)', {
    disconnect: true,
    reliable: false,
    crash: false,
  }),
  snapcommon('install snapshots (crash)', { disconnect: false, reliable: true, crash: true }),
  snapcommon('install snapshots (unreliable+crash)', { disconnect: false, reliable: false, crash: true }),
  {
    name: 'crash and restart all servers',
    servers: 3,
    snapshots: true,
    *run(cfg: Lab) {
      const servers = cfg.n;
      yield* cfg.one(cfg.randInt(), servers, true);
      for (let iters = 0; iters < 5; iters++) {
        // Perhaps enough to get a snapshot.
        const nn = burst(cfg);
        for (let i = 0; i < nn; i++) yield* cfg.one(cfg.randInt(), servers, true);
        const index1 = yield* cfg.one(cfg.randInt(), servers, true);

        crashAndRestartAll(cfg);
        const index2 = yield* cfg.one(cfg.randInt(), servers, true);
        if (index2 < index1 + 1) cfg.fail(`index decreased from ${index1} to ${index2}`);
      }
    },
  },
  {
    name: 'snapshot initialization after crash',
    servers: 3,
    snapshots: true,
    *run(cfg: Lab) {
      const servers = cfg.n;
      yield* cfg.one(cfg.randInt(), servers, true);
      // Enough commands to make a snapshot.
      for (let i = 0; i < SNAPSHOT_INTERVAL + 1; i++) yield* cfg.one(cfg.randInt(), servers, true);

      crashAndRestartAll(cfg);
      // A single command, to get something written back to storage.
      yield* cfg.one(cfg.randInt(), servers, true);

      crashAndRestartAll(cfg);
      // Another command, to trigger a bug in what the first restart wrote.
      yield* cfg.one(cfg.randInt(), servers, true);
    },
  },
];
