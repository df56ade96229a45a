/**
 * The faults, each an injection that returns its own healing: kill -9 and restart, SIGSTOP and SIGCONT,
 * network partitions through the proxies (halves, a bridge node, one-way loss), a slow disk, and membership
 * changes (a follower or the leader removed, then added back: membership.ts). The schedule alternates quiet
 * spells and faults, records each fault's window for the timeline, and heals everything at the end.
 */
import { sleep, type TortureCluster } from './cluster.js';
import { addBack, removeMember } from './membership.js';
import type { Random } from './random.js';

export const FAULT_NAMES = [
  'kill-leader',
  'kill-follower',
  'crash-all',
  'pause-leader',
  'pause-follower',
  'partition-halves',
  'partition-leader',
  'bridge',
  'one-way',
  'slow-disk',
  'remove-follower',
  'remove-leader',
] as const;

export type FaultName = (typeof FAULT_NAMES)[number];

/** One fault as it happened: for the timeline, the summary and the failure folder. */
export interface FaultWindow {
  readonly name: FaultName;
  /** What exactly was done, e.g. "SIGSTOP n2 (leader)". */
  detail: string;
  readonly start: number;
  /** When it was healed (performance.now() times, like the history's). */
  end?: number;
  /** What healing took, when there is more to say than that it was done (a membership change's retries). */
  healed?: string;
  /** Why the fault could not be injected or healed: the run fails (run.ts). */
  failed?: string;
}

/** The fault as one line: what was done, then what healing took or why it failed. */
export function describeFault(fault: FaultWindow): string {
  const after = fault.failed === undefined ? fault.healed : `FAILED: ${fault.failed}`;
  return after === undefined ? fault.detail : `${fault.detail} → ${after}`;
}

/** Undoes the fault; may tell what that took (`healed`), when there is more to say than that it was done. */
type Heal = (tell: (healed: string) => void) => Promise<void>;

interface Context {
  readonly cluster: TortureCluster;
  readonly random: Random;
  /** The current leader if one answers, else a random node. */
  readonly leader: string;
  /** How the timeline names `leader`: "leader", or, when none answered, what it is instead. */
  readonly leaderRole: string;
  readonly others: readonly string[];
}

/** Injects the fault; resolves with what it did and how to heal it. */
const faults: Record<FaultName, (context: Context) => Promise<[string, Heal]>> = {
  'kill-leader': async ({ cluster, leader, leaderRole }) => kill(cluster, [leader], leaderRole),
  'kill-follower': async ({ cluster, random, others }) => kill(cluster, [random.pick(others)], 'follower'),
  'crash-all': async ({ cluster }) => kill(cluster, cluster.ids, 'every node at once'),
  'pause-leader': async ({ cluster, leader, leaderRole }) => pause(cluster, leader, leaderRole),
  'pause-follower': async ({ cluster, random, others }) => pause(cluster, random.pick(others), 'follower'),
  'partition-halves': async ({ cluster, random }) => {
    const shuffled = random.shuffle(cluster.ids);
    const half = Math.floor(shuffled.length / 2);
    return partition(cluster, [shuffled.slice(0, half), shuffled.slice(half)]);
  },
  'partition-leader': async ({ cluster, leader, others }) => partition(cluster, [[leader], [...others]]),
  bridge: async ({ cluster, random }) => {
    // Two halves that only the bridge node hears both of: it may keep either side from electing.
    const [bridge, ...rest] = random.shuffle(cluster.ids);
    const half = Math.ceil(rest.length / 2);
    return partition(cluster, [
      [bridge!, ...rest.slice(0, half)],
      [bridge!, ...rest.slice(half)],
    ]);
  },
  'one-way': async ({ cluster, random, leader, others }) => {
    // The leader's messages to everyone are lost while it still hears them all, or a random set of links.
    const links: [string, string][] =
      random.int(2) === 0
        ? others.map((to) => [leader, to])
        : random
            .shuffle(
              cluster.ids.flatMap((from) =>
                cluster.ids.filter((to) => to !== from).map((to): [string, string] => [from, to]),
              ),
            )
            .slice(0, cluster.ids.length);
    for (const [from, to] of links) cluster.mesh.set(from, to, true);
    return [`lose ${links.map(([from, to]) => `${from}→${to}`).join(' ')}`, async () => cluster.mesh.heal()];
  },
  'remove-follower': async ({ cluster, random, others }) => {
    const follower = random.pick(others);
    // Half the time the follower is unreachable first, as a dead machine an operator removes would be: it
    // misses its removal, and asks for votes (pre-votes) the members no longer take from it until it is back.
    if (random.int(2) === 0) {
      cluster.mesh.partition([[follower], cluster.ids.filter((id) => id !== follower)]);
      return remove(cluster, follower, 'follower, cut off first');
    }
    return remove(cluster, follower, 'follower');
  },
  'remove-leader': async ({ cluster, leader, leaderRole }) => remove(cluster, leader, leaderRole),
  'slow-disk': async ({ cluster, random }) => {
    const delay = random.between(20, 150);
    const nodes = random.int(2) === 0 ? cluster.ids : [random.pick(cluster.ids)];
    for (const id of nodes)
      await cluster.setDiskFaults(id, { ...cluster.diskFaults(id), fsyncDelayMs: delay });
    return [
      `fsync +${delay} ms on ${nodes.join(' ')}`,
      async () => {
        for (const id of nodes)
          await cluster.setDiskFaults(id, { ...cluster.diskFaults(id), fsyncDelayMs: 0 });
      },
    ];
  },
};

async function kill(cluster: TortureCluster, ids: readonly string[], role: string): Promise<[string, Heal]> {
  await Promise.all(ids.map((id) => cluster.crash(id)));
  return [
    `kill -9 ${ids.join(' ')} (${role})`,
    async () => void (await Promise.all(ids.map((id) => cluster.launch(id)))),
  ];
}

async function pause(cluster: TortureCluster, id: string, role: string): Promise<[string, Heal]> {
  cluster.pause(id);
  return [`SIGSTOP ${id} (${role})`, async () => cluster.resume(id)];
}

async function partition(cluster: TortureCluster, groups: string[][]): Promise<[string, Heal]> {
  cluster.mesh.partition(groups);
  return [`partition ${groups.map((g) => `{${g.join(' ')}}`).join(' ')}`, async () => cluster.mesh.heal()];
}

/**
 * Out of the configuration through the admin API, its process and data left alone; healed: its links (if it
 * was cut off), then back as a learner and a voter.
 */
async function remove(cluster: TortureCluster, id: string, role: string): Promise<[string, Heal]> {
  const removal = await removeMember(cluster, id);
  return [
    `remove ${id} (${role}) from the configuration (${removal})`,
    async (tell) => {
      cluster.mesh.heal();
      tell(`${id} a voter again (${await addBack(cluster, id)})`);
    },
  ];
}

export interface ScheduleOptions {
  readonly faults: readonly FaultName[];
  /** Quiet spell before each fault, ms: [min, max]. */
  readonly quietMs: readonly [number, number];
  /** How long each fault lasts, ms: [min, max]. */
  readonly faultMs: readonly [number, number];
  /** Stop after this many faults (a short run: one round injects each fault once). */
  readonly maxFaults?: number;
}

/**
 * Runs faults from `options.faults` in turn (shuffled each round) until `until()` says stop or `maxFaults` were
 * injected; heals the last.
 *
 * The k-th fault's choices follow from `random`'s seed alone: which fault, how long the quiet before it and the
 * fault itself last, and its own draws (which follower, which halves) are drawn in the same order whatever
 * happens, a node to stand for the leader included, drawn even when a leader answers. What the seed cannot fix:
 * which node leads when a fault picks "the leader" (or "a follower", an index among the others), how many faults
 * fit in the run, and everything timed.
 */
export async function runSchedule(
  cluster: TortureCluster,
  random: Random,
  options: ScheduleOptions,
  until: () => boolean,
  timeline: FaultWindow[],
): Promise<void> {
  let round: FaultName[] = [];
  const done = () => until() || timeline.length >= (options.maxFaults ?? Number.POSITIVE_INFINITY);
  while (!done()) {
    await sleepUnless(random.between(...options.quietMs), until);
    if (done()) break;
    if (round.length === 0) round = random.shuffle(options.faults);
    const name = round.pop()!;
    // Drawn before anything that may fail or depend on timing, so that every fault draws the same.
    const lasts = random.between(...options.faultMs);
    const stand = random.pick(cluster.ids);
    const answered = await cluster.leader();
    const leader = answered ?? stand;
    const leaderRole = answered === undefined ? 'no leader answered: a node at random' : 'leader';
    const others = cluster.ids.filter((id) => id !== leader);
    const window: FaultWindow = { name, detail: name, start: performance.now() };
    timeline.push(window);
    try {
      const [detail, heal] = await faults[name]({ cluster, random, leader, leaderRole, others });
      window.detail = detail;
      await sleepUnless(lasts, until);
      await heal((healed) => {
        window.healed = healed;
      });
    } catch (error) {
      // A membership change that ran out of retries: told in the timeline, and the run fails on it. A partition
      // it began with (a follower cut off first) is healed, or every later fault would meet it still in place.
      window.failed = (error as Error).message;
      cluster.mesh.heal();
    }
    window.end = performance.now();
  }
}

/** Sleeps `ms`, waking early once `until()` holds. */
async function sleepUnless(ms: number, until: () => boolean): Promise<void> {
  const deadline = performance.now() + ms;
  while (!until() && performance.now() < deadline) await sleep(Math.min(100, deadline - performance.now()));
}
