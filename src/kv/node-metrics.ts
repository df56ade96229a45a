/** A key-value node's /metrics: Raft state, proposals, network, disk, store and HTTP, in Prometheus text. */
import type { DiskStorageStats } from '../effects/storage/index.js';
import type { TransportStats } from '../effects/transport/index.js';
import type { NodeStatus, RaftNodeStats } from '../runtime/node/index.js';
import { type Labels, PrometheusText } from './prometheus.js';

export interface MetricsSource {
  readonly status: NodeStatus;
  readonly node: RaftNodeStats;
  readonly pendingProposals: number;
  readonly queuedEvents: number;
  readonly transport: TransportStats;
  readonly storage: DiskStorageStats;
  readonly keys: number;
  readonly sessions: number;
  /** Log entries the service proposed, and the client commands they carried (more than one: a batch). */
  readonly proposed: { readonly entries: number; readonly commands: number };
  readonly httpRequests: readonly (readonly [Labels, number])[];
  /** This process's memory, when known. */
  readonly memory?: NodeJS.MemoryUsage;
  /** Reads answered by consistency, and the ReadIndex requests the linearizable ones shared. */
  readonly reads: {
    readonly served: Readonly<Record<string, number>>;
    readonly readIndexRequests: number;
  };
  /** On the leader, each learner's lag behind it in entries; empty elsewhere. */
  readonly learnerLag: readonly (readonly [id: string, lag: number])[];
}

/** Help for each leadership counter of RaftNodeStats; each becomes pureraft_<snake_case name>_total. */
const leadershipHelp: Readonly<Record<keyof RaftNodeStats['leadership'], string>> = {
  electionsStarted: 'Elections this node started (term raised, vote for itself).',
  preVotesStarted: 'Pre-votes this node started (thesis §9.6).',
  preVotesLost: 'Pre-votes of this node that ended without an election.',
  leaderChanges: 'Times a leader became known here for a new term.',
  checkQuorumStepDowns: 'Times this node stepped down as leader for not hearing from a majority.',
  transfersStarted: 'Leadership transfers this node began as leader.',
  transfersCompleted: 'Leadership transfers of this node that ended with the target leading.',
  transfersFailed: 'Leadership transfers of this node that ended otherwise.',
};

const roles = ['follower', 'candidate', 'leader', 'learner'] as const;

/** camelCase to snake_case, for metric names derived from stats fields. */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

export function renderNodeMetrics(source: MetricsSource): string {
  const { status, node } = source;
  const text = new PrometheusText()
    .gauge(
      'pureraft_role',
      'The role of this node: 1 for the current role, 0 for the others.',
      roles.map((role) => [{ role }, role === status.role ? 1 : 0]),
    )
    .gauge('pureraft_term', 'Current term.', status.term)
    .gauge('pureraft_commit_index', 'Highest log index known to be committed.', status.commitIndex)
    .gauge(
      'pureraft_applied_index',
      'Highest log index applied to the store since this process started.',
      status.appliedIndex,
    )
    .gauge('pureraft_last_index', 'Index of the last entry in the log.', status.lastIndex)
    .counter('pureraft_transitions_total', 'Events stepped through the reducer.', node.transitions)
    .counter('pureraft_persists_total', 'Persist effects made durable.', node.persists)
    .counter(
      'pureraft_stale_timeouts_total',
      'Timer firings dropped as superseded before their turn.',
      node.staleTimeouts,
    )
    .counter(
      'pureraft_proposals_total',
      'Proposals answered, by outcome.',
      Object.entries(node.proposals).map(([result, count]) => [{ result: snake(result) }, count]),
    )
    .gauge('pureraft_pending_proposals', 'Proposals queued or awaiting commit.', source.pendingProposals)
    .gauge('pureraft_event_queue_length', 'Events waiting to be stepped.', source.queuedEvents)
    .counter(
      'pureraft_read_index_total',
      'ReadIndex requests answered here (as leader, or through the leader), by outcome.',
      Object.entries(node.reads).map(([result, count]) => [{ result }, count]),
    )
    .counter(
      'pureraft_kv_read_index_requests_total',
      'ReadIndex requests the service made; linearizable reads that arrive together share one.',
      source.reads.readIndexRequests,
    )
    .counter(
      'pureraft_kv_reads_total',
      'Reads answered, by consistency.',
      Object.entries(source.reads.served).map(([consistency, count]) => [{ consistency }, count]),
    );
  for (const [field, help] of Object.entries(leadershipHelp)) {
    const name = field as keyof typeof leadershipHelp;
    text.counter(`pureraft_${snake(name)}_total`, help, node.leadership[name]);
  }
  for (const [field, value] of Object.entries(source.transport)) {
    const name = `pureraft_transport_${snake(field)}`;
    if (field === 'queuedFrames') text.gauge(name, 'Messages waiting in the per-peer send queues.', value);
    else text.counter(`${name}_total`, `Transport counter ${field} (see TransportStats).`, value);
  }
  addSnapshotMetrics(text, source);
  addMembershipMetrics(text, source);
  return text
    .counter(
      'pureraft_storage_syncs_total',
      'fdatasync calls of the write-ahead log (one per batch).',
      source.storage.syncs,
    )
    .counter(
      'pureraft_storage_records_total',
      'Records written to the write-ahead log.',
      source.storage.records,
    )
    .counter('pureraft_storage_bytes_total', 'Bytes written to the write-ahead log.', source.storage.bytes)
    .gauge('pureraft_kv_keys', 'Keys in this replica of the store.', source.keys)
    .gauge('pureraft_kv_sessions', 'Client sessions remembered for exactly-once retries.', source.sessions)
    .counter(
      'pureraft_kv_entries_proposed_total',
      'Log entries proposed by the service.',
      source.proposed.entries,
    )
    .counter(
      'pureraft_kv_commands_proposed_total',
      'Client commands proposed; above the entries when commands were batched.',
      source.proposed.commands,
    )
    .counter(
      'pureraft_http_requests_total',
      'HTTP requests answered, by method, route and status.',
      source.httpRequests,
    )
    .toString();
}

/**
 * The configuration in force here (§6): a sample per member and set it is in, so that during a joint change a
 * voter of both the old and the new configuration shows as `voter` and as `outgoing`. And on the leader, each
 * learner's lag: what to watch before promoting it.
 */
function addMembershipMetrics(text: PrometheusText, source: MetricsSource): void {
  const { membership } = source.status;
  const sets = [
    ['voter', membership.voters],
    ['outgoing', membership.outgoing ?? []],
    ['learner', membership.learners],
  ] as const;
  text
    .gauge(
      'pureraft_member',
      'The configuration in force here: 1 for each member, by id and role (voter, outgoing, learner).',
      sets.flatMap(([role, ids]) => ids.map((id) => [{ id, role }, 1] as const)),
    )
    .gauge(
      'pureraft_membership_changing',
      '1 while a membership change is in progress (the joint configuration is in force).',
      membership.outgoing === undefined ? 0 : 1,
    )
    .gauge(
      'pureraft_learner_lag_entries',
      "On the leader: how many log entries each learner is behind the leader's log.",
      source.learnerLag.map(([id, lag]) => [{ id }, lag] as const),
    );
}

/** Snapshots (§7): where the log starts, what was taken, sent, received, installed and restored, what is on disk. */
function addSnapshotMetrics(text: PrometheusText, source: MetricsSource): void {
  const { status, node, transport, storage, memory } = source;
  const { snapshots } = node;
  const events: [string, number, number][] = [
    ['taken', snapshots.taken, snapshots.takenBytes],
    ['sent', transport.snapshotsSent, transport.snapshotBytesSent],
    ['received', transport.snapshotsReceived, transport.snapshotBytesReceived],
    ['installed', snapshots.installed, snapshots.installedBytes],
    ['restored', snapshots.restored, snapshots.restoredBytes],
  ];
  text
    .gauge(
      'pureraft_snapshot_index',
      'Index of the latest snapshot; 0 when there is none.',
      status.snapshotIndex,
    )
    .gauge(
      'pureraft_log_first_index',
      'First index the log holds (the ones before it are compacted into the snapshot).',
      status.snapshotIndex + 1,
    )
    .counter(
      'pureraft_snapshots_total',
      'Snapshots taken here, sent to and received from peers (whole), installed from a leader, restored at start.',
      events.map(([event, count]) => [{ event }, count]),
    )
    .counter(
      'pureraft_snapshot_bytes_total',
      'Data bytes of those snapshots (sent and received: bytes on the wire, also of transfers that failed).',
      events.map(([event, , bytes]) => [{ event }, bytes]),
    )
    .gauge(
      'pureraft_start_boot_seconds',
      'Time from the process start to the node starting: the runtime and modules loaded, no durable state read yet.',
      node.startCalledMs / 1000,
    )
    .gauge(
      'pureraft_storage_load_seconds',
      'Time the node took at start to load its durable state: the snapshot file checked, the log replayed.',
      node.loadMs / 1000,
    )
    .counter(
      'pureraft_snapshot_restore_seconds_total',
      'Time spent reading snapshots into the store (installs and the restore at start).',
      snapshots.restoreMs / 1000,
    )
    .gauge(
      'pureraft_storage_snapshot_file_bytes',
      'Size of the current snapshot file on disk.',
      storage.snapshotBytesOnDisk,
    )
    .gauge(
      'pureraft_storage_wal_bytes',
      'Size of the write-ahead log segments on disk.',
      storage.walBytesOnDisk,
    );
  if (memory !== undefined) {
    text
      .gauge('process_resident_memory_bytes', 'Resident memory of this process.', memory.rss)
      .gauge(
        'nodejs_heap_used_bytes',
        'V8 heap in use (live data and garbage not yet collected).',
        memory.heapUsed,
      )
      .gauge('nodejs_heap_total_bytes', 'V8 heap reserved.', memory.heapTotal)
      .gauge(
        'nodejs_external_memory_bytes',
        'Memory of buffers and other objects outside the V8 heap.',
        memory.external,
      );
  }
}
