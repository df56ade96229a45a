/**
 * Reads (contract 16, ReadIndex, thesis §6.4). A read answered `readReady` is linearizable: its index is at
 * least the highest commit index any node had when the read was stepped, so the service, answering once it
 * has applied through that index, sees every write that completed before the read began. And each read gets
 * exactly one answer (ready or failed), unless its node crashes first: at most one is checked at every step,
 * at least one after the liveness phase (`unanswered`).
 *
 * A read answered in the very transition that steps it is seen (through the Cluster's `read` hook) before
 * that transition is: the highest commit index is then still the one from before.
 */
import type { Event, NodeId } from '../../src/core/index.js';
import type { ReadAnswer } from '../../src/runtime/simulator/index.js';
import type { Command } from '../scenario.js';
import { PropertyViolation } from '../violation.js';

interface Read {
  readonly node: NodeId;
  /** The highest commit index in the cluster when the read was stepped. */
  readonly atLeast: number;
  answered: boolean;
}

export class ReadChecker {
  readonly #reads = new Map<string, Read>();
  #highestCommit = 0;

  /** After every transition, once the read (if it was one) is recorded. */
  committed(commitIndex: number): void {
    this.#highestCommit = Math.max(this.#highestCommit, commitIndex);
  }

  stepped(node: NodeId, event: Event<Command>): void {
    if (event.type === 'read' && !this.#reads.has(event.id)) {
      this.#reads.set(event.id, { node, atLeast: this.#highestCommit, answered: false });
    }
  }

  answered(node: NodeId, answer: ReadAnswer): void {
    let read = this.#reads.get(answer.id);
    if (read === undefined) {
      read = { node, atLeast: this.#highestCommit, answered: false };
      this.#reads.set(answer.id, read);
    }
    if (read.answered) {
      throw new PropertyViolation('one answer per read', `${node} answered read ${answer.id} a second time`);
    }
    read.answered = true;
    if (answer.type === 'readReady' && answer.index < read.atLeast) {
      throw new PropertyViolation(
        'linearizable reads',
        `${node} answered read ${answer.id} at index ${answer.index}, but ${read.atLeast} was committed ` +
          'before the read began',
      );
    }
  }

  /** A node that crashes owes no answer to the reads it was waiting on. */
  crashed(node: NodeId): void {
    for (const [id, read] of this.#reads) if (read.node === node && !read.answered) this.#reads.delete(id);
  }

  /** Reads still waiting for an answer, as `id on node`. */
  unanswered(): string[] {
    return [...this.#reads].filter(([, read]) => !read.answered).map(([id, read]) => `${id} on ${read.node}`);
  }
}
