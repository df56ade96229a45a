/**
 * The end check "acknowledged writes applied" counts a write only where some node applied it. It once also
 * counted the commands in the log a node restarted with, which may hold entries never committed: a write
 * acknowledged early and then lost, its entry overwritten after a restart, passed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { type Config, type Durable, init, step } from '../../core/index.js';
import type { KvEntry } from '../../kv/commands.js';
import { TraceWriter } from '../../runtime/node/trace.js';
import { analyzeTraces, sessionKey } from './traces.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pureraft-torture-traces-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config: Config = {
  id: 'n2',
  voters: ['n1', 'n2', 'n3'],
  electionTimeout: [300, 600],
  heartbeatInterval: 100,
  seed: 1,
};
const put = (client: string, seq: number): KvEntry =>
  ({ op: 'put', key: `k${seq}`, value: 'v', session: { client, seq } }) as unknown as KvEntry;

it('counts a write applied only where a node applied it, not where a restarted log merely holds it', async () => {
  // n2 restarts holding an entry of term 3 at index 2 that was never committed; the leader of term 4 overwrites it
  // with its no-op and then commits it: what n2 applies is the no-op and a write of another session.
  const durable: Durable<KvEntry> = {
    hardState: { term: 3, votedFor: null },
    entries: [
      { index: 1, term: 1, kind: 'command', command: put('c1', 1) },
      { index: 2, term: 3, kind: 'command', command: put('c4', 11) },
    ],
  };
  const path = join(dir, 'n2-1.trace');
  const trace = await TraceWriter.create<KvEntry>(path);
  let [state, effects] = init<KvEntry>(config, durable);
  trace.start(config, durable, [state, effects]);
  const event = {
    type: 'receive' as const,
    message: {
      type: 'AppendEntries' as const,
      term: 4,
      from: 'n1',
      to: 'n2',
      prevLogIndex: 1,
      prevLogTerm: 1,
      entries: [
        { index: 2, term: 4, kind: 'noop' as const },
        { index: 3, term: 4, kind: 'command' as const, command: put('c0', 12) },
      ],
      leaderCommit: 3,
      round: 1,
    },
  };
  [state, effects] = step(state, event);
  trace.event(event, state, effects);
  await trace.close();
  const report = await analyzeTraces([path]);
  expect(report.mismatches).toEqual([]);
  expect([...report.appliedSessions].sort()).toEqual([sessionKey('c0', 12), sessionKey('c1', 1)]);
});
