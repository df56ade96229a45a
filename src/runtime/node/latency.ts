/**
 * Where a write's time goes: a node given a `LatencyRecorder` (RaftNodeOptions.latency) marks, per log index,
 * the moments an entry passes each stage of its way through the runtime, on the leader and on the followers:
 *
 *   proposed      leader   the propose event was stepped: the entry has its index
 *   sent          leader   an AppendEntries carrying it was handed to the transport (`peer`: to whom)
 *   persisted     any      the persist that wrote it is durable (fsync'd) here
 *   received      follower an AppendEntries carrying it arrived (was queued to be stepped)
 *   acked         follower the AppendEntriesResponse covering it was handed to the transport
 *   ackReceived   leader   a successful AppendEntriesResponse covering it arrived (`peer`: from whom)
 *   committed     leader   a transition advanced the commit index past it
 *   applied       any      the state machine applied it
 *
 * and a service may mark its own stages (the key-value service marks `request` and `reply` around a write,
 * with index 0: the index is not known yet when a request arrives). Times are `process.hrtime.bigint()`:
 * CLOCK_MONOTONIC, one clock for every process on a machine, so the records of a cluster's nodes line up.
 * Off unless given: a node without a recorder does no more than test one field per effect.
 *
 * Bounded: past `limit` records, further marks are dropped (and counted). bench/latency.ts reads the records
 * of a cluster's nodes and prints the breakdown.
 */
import { writeFile } from 'node:fs/promises';

export type LatencyStage =
  | 'request'
  | 'proposed'
  | 'sent'
  | 'persisted'
  | 'received'
  | 'acked'
  | 'ackReceived'
  | 'committed'
  | 'applied'
  | 'reply';

export interface LatencyRecord {
  readonly node: string;
  readonly stage: LatencyStage;
  /** The log index; 0 for a service's stages, which come before the index is known. */
  readonly index: number;
  /** The peer a message went to or came from. */
  readonly peer?: string;
  /** process.hrtime.bigint() as a number of nanoseconds (exact to well below a microsecond for ~100 days). */
  readonly ns: number;
}

/** Default number of records kept: a few minutes of a single client's writes, all stages. */
export const DEFAULT_LATENCY_LIMIT = 200_000;

export class LatencyRecorder {
  readonly #records: LatencyRecord[] = [];
  #dropped = 0;
  /** The last index `markThrough` marked, by stage and peer. */
  readonly #reached = new Map<string, number>();

  constructor(
    readonly node: string,
    readonly limit = DEFAULT_LATENCY_LIMIT,
  ) {}

  mark(stage: LatencyStage, index: number, peer?: string): void {
    if (this.#records.length >= this.limit) {
      this.#dropped++;
      return;
    }
    const ns = Number(process.hrtime.bigint());
    this.#records.push(
      peer === undefined
        ? { node: this.node, stage, index, ns }
        : { node: this.node, stage, index, peer, ns },
    );
  }

  /** Marks `stage` for every index from `from` through `to`. */
  markRange(stage: LatencyStage, from: number, to: number, peer?: string): void {
    for (let index = from; index <= to; index++) this.mark(stage, index, peer);
  }

  /**
   * Marks `stage` for the indexes past the last one this stage and peer reached, through `index` (only `index`
   * the first time): an acknowledgement covers every entry up to the index it names, once.
   */
  markThrough(stage: LatencyStage, index: number, peer: string): void {
    const key = `${stage} ${peer}`;
    const last = this.#reached.get(key) ?? index - 1;
    if (index <= last) return;
    this.#reached.set(key, index);
    this.markRange(stage, last + 1, index, peer);
  }

  get records(): readonly LatencyRecord[] {
    return this.#records;
  }

  /** Marks dropped because `limit` was reached. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Writes the records as JSON lines. */
  async writeTo(path: string): Promise<void> {
    await writeFile(path, this.#records.map((record) => `${JSON.stringify(record)}\n`).join(''));
  }
}

/** Parses what `writeTo` wrote. */
export function parseLatencyRecords(text: string): LatencyRecord[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as LatencyRecord);
}
