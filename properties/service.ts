/**
 * The service on each node, as the properties model it. Its state is a digest of the commands it applied, in
 * order (a hash chain), so that two services are in the same state exactly when they applied the same commands
 * (up to a 32-bit hash collision). A service starts empty in each incarnation, replaces its state with a
 * snapshot's on `restore`, and extends it on `apply`. It remembers its digest at every index since its last
 * restore, so that a snapshot can capture the state at any of them, as a service that snapshots in the
 * background does; the digest is the snapshot's `data`.
 */
import type { Entry, NodeId, Snapshot } from '../src/core/index.js';
import type { ClusterObserver, SimNode } from '../src/runtime/simulator/index.js';
import type { Command } from './scenario.js';

export type Digest = string;

/** The state of a service that applied nothing. */
export const EMPTY_DIGEST: Digest = '0';

/** The state after applying `entry`: only commands change it. FNV-1a over the previous digest and the command. */
export function nextDigest(digest: Digest, entry: Entry<Command>): Digest {
  if (entry.kind !== 'command') return digest;
  let hash = 0x811c9dc5;
  const text = `${digest}|${entry.command}`;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16);
}

interface ServiceState {
  /** The index of the first digest: 0, or the index of the snapshot it restored last. */
  readonly base: number;
  /** The digest at `base + i`. */
  readonly digests: Digest[];
}

export class Services implements ClusterObserver<Command> {
  readonly #states = new Map<NodeId, ServiceState>();

  #state(id: NodeId): ServiceState {
    let state = this.#states.get(id);
    if (state === undefined) {
      state = { base: 0, digests: [EMPTY_DIGEST] };
      this.#states.set(id, state);
    }
    return state;
  }

  /** In order and without gaps: the Cluster checks that before it tells its observers. */
  applied(node: SimNode<Command>, entries: readonly Entry<Command>[]): void {
    const { digests } = this.#state(node.id);
    for (const entry of entries) digests.push(nextDigest(digests[digests.length - 1]!, entry));
  }

  restored(node: SimNode<Command>, snapshot: Snapshot): void {
    this.#states.set(node.id, { base: snapshot.meta.index, digests: [snapshot.data as Digest] });
  }

  crashed(node: SimNode<Command>): void {
    this.#states.delete(node.id);
  }

  /** The node's state at `index`, if it reached it in this incarnation and has not restored past it since. */
  digestAt(id: NodeId, index: number): Digest | undefined {
    const state = this.#states.get(id) ?? { base: 0, digests: [EMPTY_DIGEST] };
    return state.digests[index - state.base];
  }
}
