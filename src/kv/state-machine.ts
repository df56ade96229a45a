/**
 * The replicated key-value store: what every replica applies, in log order, a batch's commands one after the
 * other. Deterministic, and it never throws.
 *
 * Its snapshot (snapshot-format.ts) holds the whole replicated state: the keys and values, and the session
 * table, so that a request retried after a restore is still applied once. Taking one captures the state at
 * the call in O(1) (layered-map.ts; the session table, bounded, is copied), and the bytes are produced in
 * slices while applies go on. Restoring reads the snapshot as a stream into a new state, which replaces the
 * old one only once the whole snapshot was read and found sound.
 *
 * It also keeps the cluster's address book (address-book.ts), replicated like the data and part of the
 * snapshot; `onAddressBook` hears of every change, applied or restored, so the node can update its transport.
 */
import type { StateMachine } from '../effects/apply/index.js';
import { AddressBook, checkMemberRecord, type MemberRecord } from './address-book.js';
import {
  checkCommand,
  type KvCommand,
  type KvEntry,
  type KvEntryResult,
  type KvOperation,
  type KvResult,
} from './commands.js';
import { LayeredMap } from './layered-map.js';
import { SessionTable } from './sessions.js';
import { decodeKvSnapshot, encodeKvSnapshot } from './snapshot-format.js';

export class KvStateMachine implements StateMachine<KvEntry, KvEntryResult> {
  readonly #data = new LayeredMap();
  readonly #sessions: SessionTable;
  readonly #book = new AddressBook();
  /** Called after every change of the address book (an applied member entry, a restore). Must not throw. */
  onAddressBook: (book: AddressBook) => void = () => {};

  constructor(maxSessions?: number) {
    this.#sessions = new SessionTable(maxSessions);
  }

  /** The replicated address book, as applied here. */
  get addressBook(): AddressBook {
    return this.#book;
  }

  /** Keys stored. */
  get size(): number {
    return this.#data.size;
  }

  /** Clients with a remembered last request. */
  get sessions(): number {
    return this.#sessions.size;
  }

  /** This replica's applied value of `key`: linearizable once applied through a read index (kv-node.ts). */
  read(key: string): string | null {
    return this.#data.get(key) ?? null;
  }

  /** Every key and value this replica has applied, sorted by key. */
  dump(): [string, string][] {
    return [...this.#data.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * The whole state as it is now, as snapshot bytes produced later, a slice at a time. The consumer must run
   * the iterator to its end or stop it (`return`, as `for await` does on a throw): the capture is held until
   * then.
   */
  snapshot(): AsyncIterable<Uint8Array> {
    return encodeKvSnapshot(this.#data.capture(), this.#sessions.entries(), this.#book.entries());
  }

  /** Replaces the whole state with a snapshot's; throws `KvSnapshotError`, changing nothing, on bad bytes. */
  async restore(chunks: AsyncIterable<Uint8Array>): Promise<void> {
    const { data, sessions, members } = await decodeKvSnapshot(chunks);
    this.#data.replace(data);
    this.#sessions.replace(sessions);
    this.#book.replace(members);
    this.onAddressBook(this.#book);
  }

  apply(entry: KvEntry): KvEntryResult {
    if (entry?.op === 'member') return this.#recordMember(entry);
    if (entry?.op !== 'batch') return this.#applyCommand(entry);
    if (!Array.isArray(entry.commands))
      return { op: 'refused', reason: 'malformed batch: commands must be a list' };
    return { op: 'batch', results: entry.commands.map((command) => this.#applyCommand(command)) };
  }

  #recordMember(record: MemberRecord): KvEntryResult {
    const problem = checkMemberRecord(record);
    if (problem !== undefined) return { op: 'refused', reason: `malformed member entry: ${problem}` };
    const previous = this.#book.record(record.id, record);
    this.onAddressBook(this.#book);
    return { op: 'member', previous };
  }

  #applyCommand(command: KvCommand): KvResult {
    const problem = checkCommand(command);
    if (problem !== undefined) return { op: 'refused', reason: `malformed command: ${problem}` };
    const { session } = command;
    if (session === undefined) return this.#execute(command);
    const check = this.#sessions.check(session, command);
    if (check.kind === 'refused') return { op: 'refused', reason: check.reason };
    // A retried read is not kept (see sessions.ts): it reads again, which changes nothing.
    if (check.kind === 'duplicate') return check.result ?? this.#execute(command);
    const result = this.#execute(command);
    this.#sessions.record(session, command, result);
    return result;
  }

  #execute(operation: KvOperation): KvResult {
    const current = this.read(operation.key);
    switch (operation.op) {
      case 'get':
        return { op: 'get', value: current };
      case 'put':
        this.#data.set(operation.key, operation.value);
        return { op: 'put', previous: current };
      case 'delete':
        this.#data.delete(operation.key);
        return { op: 'delete', previous: current };
      case 'cas': {
        if (current !== operation.expected) return { op: 'cas', swapped: false, current };
        if (operation.value === null) this.#data.delete(operation.key);
        else this.#data.set(operation.key, operation.value);
        return { op: 'cas', swapped: true, current: operation.value };
      }
    }
  }
}
