/**
 * The lab's tester (6.824's config.go) on the deterministic simulator: servers numbered 0..n-1, a network
 * that can disconnect them or turn unreliable, crash and restart from persisted state, and the checks the
 * graded tests are built from (checkOneLeader, checkTerms, checkNoLeader, nCommitted, one, wait), with the
 * counters that begin/end report. Time is virtual: a sleep is a `yield` to the scheduler (tasks.ts).
 *
 * Indices: the lab's Raft has no leader no-op, so its log indices number commands. Ours also holds no-op
 * entries, so the tester numbers applied commands 1, 2, 3... skipping no-ops (the lab's CommandIndex), and
 * Start reports the command index the new command would get. The lab's index arithmetic then carries over
 * unchanged, while the Cluster keeps checking the real log indices.
 *
 * Snapshots (part D): with `snapshots`, each server's service is the lab's applierSnap (applier.ts). Its
 * snapshots carry the command index they stand for, so a server that restores one (from its leader, or from
 * its own storage when it restarts) takes its applied log and command numbering from there, as ingestSnap
 * does, and Start can number a leader's commands whose earlier entries were compacted away.
 */
import { type Entry, logOf, type NodeId, type Snapshot, status } from '../../src/core/index.js';
import {
  type Faults,
  LONG_REORDERING,
  type Random,
  RELIABLE,
  type Reducer,
  Simulator,
  UNRELIABLE,
} from '../../src/runtime/simulator/index.js';
import { decodeSnapshot, encodeSnapshot, type LabSnapshot, snapshotsAfter } from './applier.js';
import { SafetyChecks } from './safety.js';
import { Scheduler, sleep, type Task } from './tasks.js';

export type Command = number | string;

/** The lab's t.Fatalf. */
export class LabFailure extends Error {
  override readonly name = 'LabFailure';
}

/** The tester's unit of patience (test_test.go), in virtual ms. */
export const RAFT_ELECTION_TIMEOUT = 1000;
/** config.go's checkTimeout: a test that takes longer fails, whatever it checked. */
const TEST_TIME_LIMIT = 120_000;

export interface LabOptions {
  readonly servers: number;
  readonly unreliable: boolean;
  readonly seed: number;
  /** The Raft under test (default: the real core). */
  readonly reducer?: Reducer<Command>;
  /** make_config's snapshot flag: servers run the lab's snapshot applier (applier.ts). */
  readonly snapshots?: boolean;
}

/** A snapshot the applier took, on its way to the server's core. */
interface PendingSnapshot {
  readonly server: number;
  /** The real log index of the command it ends with. */
  readonly index: number;
  readonly data: LabSnapshot;
}

/** A command as the tester prints it: the 5,000-byte strings of the byte-count test are cut short. */
function show(command: Command | undefined): string {
  const text = String(command);
  return text.length > 20 ? `${text.slice(0, 20)}…` : text;
}

export class Lab {
  readonly n: number;
  readonly sim: Simulator<Command>;
  readonly tasks: Scheduler;
  /** The test's own rand.Int(), apart from the network's draws, so that faults do not shift its choices. */
  readonly rand: Random;
  /** cfg.connected: a crashed server is disconnected too, as crash1 does. */
  readonly connected: boolean[];
  readonly #ids: readonly NodeId[];
  readonly #indexOf: ReadonlyMap<NodeId, number>;
  /** cfg.logs: the commands each server applied, by command index (slot 0 unused), over all incarnations. */
  readonly #logs: Command[][];
  /**
   * cfg.lastApplied: the command index each server applied last in its current incarnation (it applies again
   * after a restart, from 0 or from the snapshot it restored).
   */
  readonly #lastApplied: number[];
  /** Kept apart from #logs, which a restore can shorten (as the lab's is). */
  #maxIndex = 0;
  readonly #snapshots: boolean;
  /**
   * The lab's applier calls Snapshot from its own goroutine, never from inside Raft: snapshots taken while a
   * transition's effects run reach the core once that transition is over.
   */
  readonly #pendingSnapshots: PendingSnapshot[] = [];
  #unreliable: boolean;
  #longReordering = false;
  #description = '';
  #t0 = 0;
  #rpcs0 = 0;
  #bytes0 = 0;
  #commands0 = 0;

  constructor(options: LabOptions) {
    this.n = options.servers;
    this.#ids = Array.from({ length: this.n }, (_, i) => `s${i}`);
    this.#indexOf = new Map(this.#ids.map((id, i) => [id, i]));
    this.connected = this.#ids.map(() => true);
    this.#logs = this.#ids.map(() => []);
    this.#lastApplied = this.#ids.map(() => 0);
    this.#snapshots = options.snapshots ?? false;
    this.#unreliable = options.unreliable;
    const safety = new SafetyChecks<Command>(() => this.sim.cluster.nodes.values());
    this.sim = new Simulator<Command>({
      nodes: this.#ids,
      seed: options.seed,
      faults: this.#faults(),
      // LAB_PAPER=1: the paper's Raft, as the lab's own (the core's defaults add pre-vote and check-quorum).
      ...(process.env.LAB_PAPER === '1' && { config: { preVote: false, checkQuorum: false } }),
      ...(options.reducer && { reducer: options.reducer }),
      observer: {
        transition: (node, _event, before, after) => {
          safety.transition(node, before, after);
          this.#takeSnapshots();
        },
        applied: (node, entries) => {
          safety.applied(entries);
          this.#record(this.#server(node.id), entries);
        },
        restored: (node, snapshot) => this.#ingest(this.#server(node.id), snapshot),
        // Reset at the crash, not at the restart: a restart's `restore` comes before the `restarted` call.
        crashed: (node) => {
          this.#lastApplied[this.#server(node.id)] = 0;
        },
        restarted: () => this.#takeSnapshots(),
      },
    });
    this.rand = this.sim.random.fork();
    this.tasks = new Scheduler(this.sim);
  }

  /** rand.Int(): a random non-negative int, the lab's usual command. */
  randInt(): number {
    return this.rand.int(0, 2 ** 31);
  }

  /** randstring(n): n random printable characters. */
  randString(n: number): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    return Array.from({ length: n }, () => alphabet[this.rand.int(0, alphabet.length)]).join('');
  }

  fail(message: string): never {
    throw new LabFailure(`at ${(this.sim.now / 1000).toFixed(3)}s: ${message}\n${this.#describeNodes()}`);
  }

  /** Each server as the failure found it: enough to see why, say, no leader could be elected. */
  #describeNodes(): string {
    return [...this.sim.cluster.nodes.values()]
      .map((node) => {
        if (node.state === null) return `  ${node.id}: down`;
        const s = status(node.state);
        const log = logOf(node.state);
        return (
          `  ${node.id}: ${s.role} term ${s.term} voted ${s.votedFor ?? '-'} leader ${s.leaderId ?? '-'} ` +
          `last (${log.lastIndex}, t${log.lastTerm}) commit ${s.commitIndex}` +
          (this.connected[this.#server(node.id)] ? '' : ' (disconnected)')
        );
      })
      .join('\n');
  }

  #server(id: NodeId): number {
    return this.#indexOf.get(id)!;
  }

  // ---- the network and the servers' lives ---------------------------------------------------------------

  #faults(): Faults {
    const base = this.#unreliable ? UNRELIABLE : RELIABLE;
    if (!this.#longReordering) return base;
    const { longDelay, longDelayRange } = LONG_REORDERING;
    return { ...base, longDelay, longDelayRange };
  }

  setUnreliable(unreliable: boolean): void {
    this.#unreliable = unreliable;
    this.sim.faults = this.#faults();
  }

  setLongReordering(longReordering: boolean): void {
    this.#longReordering = longReordering;
    this.sim.faults = this.#faults();
  }

  disconnect(i: number): void {
    this.connected[i] = false;
    this.sim.disconnect(this.#ids[i]!);
  }

  /**
   * As the lab's connect(i): restores the links between `i` and the servers that are connected, and only
   * those. (The simulator's `connect` restores all of them, which would let two disconnected servers talk.)
   */
  connect(i: number): void {
    this.connected[i] = true;
    this.connected.forEach((up, j) => {
      if (!up || j === i) return;
      this.sim.cluster.setLink(this.#ids[i]!, this.#ids[j]!, true);
      this.sim.cluster.setLink(this.#ids[j]!, this.#ids[i]!, true);
    });
  }

  /** cfg.rafts[i] != nil */
  isUp(i: number): boolean {
    return this.sim.node(this.#ids[i]!).state !== null;
  }

  /** crash1: disconnect and kill; what it persisted stays. */
  crash1(i: number): void {
    this.disconnect(i);
    this.sim.crash(this.#ids[i]!);
  }

  /** start1: (re)start from persisted state, still disconnected until `connect(i)`. */
  start1(i: number): void {
    this.crash1(i);
    this.sim.restart(this.#ids[i]!);
  }

  // ---- what the tester asks a server -------------------------------------------------------------------

  /** rf.GetState() */
  getState(i: number): { term: number; isLeader: boolean } {
    const state = this.sim.node(this.#ids[i]!).state;
    if (state === null) this.fail(`GetState() on crashed server ${i}`);
    const { term, role } = status(state);
    return { term, isLeader: role === 'leader' };
  }

  /** rf.Start(command): where the command will be if it commits, or null when `i` is not a leader. */
  start(i: number, command: Command): { index: number; term: number } | null {
    const placed = this.sim.propose(this.#ids[i]!, command);
    if (placed === null) return null;
    const node = this.sim.node(this.#ids[i]!);
    // The commands compacted into the leader's snapshot, then those in its log up to the new one.
    const snapshot = node.durable.latestSnapshot;
    const compacted = snapshot === undefined ? 0 : this.#decode(i, snapshot).commandIndex;
    const log = logOf(node.state!);
    const commands = log.slice(log.firstIndex, placed.index).filter((entry) => entry.kind === 'command');
    return { index: compacted + commands.length, term: placed.term };
  }

  /** cfg.LogSize(): the most entries any server stores after its snapshot (the lab counts their bytes). */
  logSize(): number {
    return Math.max(...this.#ids.map((id) => this.sim.node(id).durable.entries.length));
  }

  // ---- applies (config.go's applier and checkLogs) -----------------------------------------------------

  #record(i: number, entries: readonly Entry<Command>[]): void {
    for (const entry of entries) {
      if (entry.kind !== 'command') continue;
      const index = ++this.#lastApplied[i]!;
      const command = entry.command!;
      this.#logs.forEach((log, j) => {
        const old = log[index];
        if (old !== undefined && old !== command) {
          this.fail(`commit index=${index} server=${i} ${show(command)} != server=${j} ${show(old)}`);
        }
      });
      this.#logs[i]![index] = command;
      this.#maxIndex = Math.max(this.#maxIndex, index);
      if (this.#snapshots && snapshotsAfter(index)) {
        this.#pendingSnapshots.push({
          server: i,
          index: entry.index,
          data: encodeSnapshot(index, this.#logs[i]!),
        });
      }
    }
  }

  /** rf.Snapshot(index, data) for each snapshot the appliers took since the last call. */
  #takeSnapshots(): void {
    while (this.#pendingSnapshots.length > 0) {
      const { server, index, data } = this.#pendingSnapshots.shift()!;
      this.sim.cluster.snapshot(this.#ids[server]!, data, index);
    }
  }

  #decode(i: number, snapshot: Snapshot): LabSnapshot {
    const decoded = decodeSnapshot(snapshot.data);
    if (decoded === null) this.fail(`server ${i}: snapshot decode error`);
    return decoded;
  }

  /** ingestSnap: the server's service becomes the snapshot's, and applies continue right after it. */
  #ingest(i: number, snapshot: Snapshot): void {
    const { commandIndex, log } = this.#decode(i, snapshot);
    const logs: Command[] = [];
    log.forEach((command, j) => {
      logs[j + 1] = command;
    });
    this.#logs[i] = logs;
    this.#lastApplied[i] = commandIndex;
  }

  /** cfg.maxIndex: the highest command index any server applied. */
  get maxIndex(): number {
    return this.#maxIndex;
  }

  /** How many servers applied command index `index`, and the command (they must all agree on it). */
  nCommitted(index: number): [count: number, command: Command | undefined] {
    let count = 0;
    let command: Command | undefined;
    for (const log of this.#logs) {
      const applied = log[index];
      if (applied === undefined) continue;
      if (count > 0 && applied !== command) {
        this.fail(`committed values do not match: index ${index}, ${show(command)}, ${show(applied)}`);
      }
      count++;
      command = applied;
    }
    return [count, command];
  }

  // ---- the tester's checks -----------------------------------------------------------------------------

  /** A leader among the connected servers, retried for about 5 s; two leaders in one term fail at once. */
  *checkOneLeader(): Task<number> {
    for (let iters = 0; iters < 10; iters++) {
      yield* sleep(450 + this.rand.int(0, 100));
      const leaders = new Map<number, number[]>();
      for (let i = 0; i < this.n; i++) {
        if (!this.connected[i]) continue;
        const { term, isLeader } = this.getState(i);
        if (isLeader) leaders.set(term, [...(leaders.get(term) ?? []), i]);
      }
      let lastTermWithLeader = -1;
      for (const [term, ids] of leaders) {
        if (ids.length > 1) this.fail(`term ${term} has ${ids.length} (>1) leaders`);
        lastTermWithLeader = Math.max(lastTermWithLeader, term);
      }
      if (leaders.size > 0) return leaders.get(lastTermWithLeader)![0]!;
    }
    this.fail('expected one leader, got none');
  }

  /** The term all connected servers agree on. */
  checkTerms(): number {
    let term = -1;
    for (let i = 0; i < this.n; i++) {
      if (!this.connected[i]) continue;
      const xterm = this.getState(i).term;
      if (term === -1) term = xterm;
      else if (term !== xterm) this.fail('servers disagree on term');
    }
    return term;
  }

  checkNoLeader(): void {
    for (let i = 0; i < this.n; i++) {
      if (this.connected[i] && this.getState(i).isLeader) {
        this.fail(`expected no leader, but ${i} claims to be leader`);
      }
    }
  }

  /**
   * Submits `command` to whichever connected server accepts it (trying each in turn) and waits for at least
   * `expectedServers` to apply it at the index it was given; with `retry`, a command that gets lost (its
   * leader deposed) is submitted again, for up to 10 s in all. Returns its command index.
   */
  *one(command: Command, expectedServers: number, retry: boolean): Task<number> {
    const t0 = this.sim.now;
    let starts = 0;
    while (this.sim.now - t0 < 10_000) {
      let index = -1;
      for (let si = 0; si < this.n; si++) {
        starts = (starts + 1) % this.n;
        const started = this.connected[starts] ? this.start(starts, command) : null;
        if (started !== null) {
          index = started.index;
          break;
        }
      }
      if (index === -1) {
        yield* sleep(50);
        continue;
      }
      // Somebody claimed to be the leader and took the command: wait a while for agreement.
      const t1 = this.sim.now;
      while (this.sim.now - t1 < 2_000) {
        const [count, applied] = this.nCommitted(index);
        if (count > 0 && count >= expectedServers && applied === command) return index;
        yield* sleep(20);
      }
      if (!retry) this.fail(`one(${show(command)}) failed to reach agreement`);
    }
    this.fail(`one(${show(command)}) failed to reach agreement`);
  }

  /**
   * Waits (backing off, up to about 20 s) for at least `n` servers to apply command index `index`, and
   * returns the command; null when, with `startTerm` > -1, some server moved past that term, after which
   * the commit is no longer guaranteed (the lab returns -1).
   */
  *wait(index: number, n: number, startTerm: number): Task<Command | null> {
    let to = 10;
    for (let iters = 0; iters < 30; iters++) {
      if (this.nCommitted(index)[0] >= n) break;
      yield* sleep(to);
      if (to < 1_000) to *= 2;
      if (startTerm > -1) {
        for (let i = 0; i < this.n; i++) {
          if (this.isUp(i) && this.getState(i).term > startTerm) return null;
        }
      }
    }
    const [count, command] = this.nCommitted(index);
    if (count < n) this.fail(`only ${count} decided for index ${index}; wanted ${n}`);
    return command!;
  }

  // ---- counters ----------------------------------------------------------------------------------------

  /** RPCs sent: requests only, as each labrpc call is one request whose reply rides along. */
  rpcTotal(): number {
    return Object.entries(this.sim.stats.byType)
      .filter(([type]) => !type.endsWith('Response'))
      .reduce((sum, [, count]) => sum + count, 0);
  }

  bytesTotal(): number {
    return this.sim.stats.bytes;
  }

  begin(description: string): void {
    this.#description = description;
    this.#t0 = this.sim.now;
    this.#rpcs0 = this.rpcTotal();
    this.#bytes0 = this.bytesTotal();
    this.#commands0 = this.maxIndex;
  }

  get description(): string {
    return this.#description;
  }

  /** Fails a test that took too long; otherwise returns the lab's "Passed" line. */
  end(): string {
    const elapsed = this.sim.now - this.#t0;
    if (elapsed > TEST_TIME_LIMIT) this.fail('test took longer than 120 seconds');
    const seconds = (elapsed / 1000).toFixed(1).padStart(4);
    const rpcs = String(this.rpcTotal() - this.#rpcs0).padStart(4);
    const bytes = String(this.bytesTotal() - this.#bytes0).padStart(7);
    const commands = String(this.maxIndex - this.#commands0).padStart(4);
    return `  ... Passed --  ${seconds}  ${this.n} ${rpcs} ${bytes} ${commands}`;
  }
}
