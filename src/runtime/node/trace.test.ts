import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { replay } from './replay.js';
import { CommandLog, TestCluster } from './test-support.js';
import { parseTrace, readTrace, TraceFormatError } from './trace.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pureraft-trace-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs a cluster with elections, proposals and a partition, recording every node's trace. */
async function recordedRun() {
  const cluster = new TestCluster(['a', 'b', 'c'], (id) => ({ tracePath: join(dir, `${id}.trace`) }));
  await cluster.start();
  const leader = await cluster.leader();
  const proposals = ['x', 'y'].map((command) => leader.node.propose(command));
  await cluster.run(100);
  await Promise.all(proposals);
  cluster.network.isolate(leader.node.id);
  await cluster.run(1_000);
  cluster.network.heal();
  await cluster.run(500);
  await cluster.stop();
  return cluster;
}

describe('traces', () => {
  it('replay through init and step reproduces every recorded state and effect exactly', async () => {
    const cluster = await recordedRun();
    for (const [id, { transitions }] of cluster.nodes) {
      const trace = await readTrace<string>(join(dir, `${id}.trace`));
      const replayed = [...replay(trace)];
      expect(replayed.length).toBe(transitions.length);
      expect(transitions.length).toBeGreaterThan(10);
      replayed.forEach((step, position) => {
        const recorded = transitions[position]!;
        expect(step.matched).toBe(true);
        expect(step.event).toEqual(recorded.event);
        expect(step.effects).toEqual(recorded.effects);
        expect(step.state).toEqual(recorded.state);
      });
    }
  });

  it('holds each transition in the file before its effects run, so a kill -9 loses none that was seen outside', async () => {
    /** Per apply: the trace's lines on disk at that moment, and the transitions so far (the start's included). */
    const seen: [onDisk: number, stepped: number][] = [];
    const path = (id: string) => join(dir, `${id}.trace`);
    class Checking extends CommandLog {
      constructor(readonly id: string) {
        super();
      }
      override apply(command: string, index: number): number {
        const onDisk = readFileSync(path(this.id), 'utf8').split('\n').length - 1;
        seen.push([onDisk, cluster.node(this.id).transitions.length]);
        return super.apply(command, index);
      }
    }
    const cluster = new TestCluster(['a', 'b', 'c'], (id) => ({
      tracePath: path(id),
      stateMachine: new Checking(id),
    }));
    await cluster.start();
    const leader = await cluster.leader();
    const proposals = ['x', 'y', 'z'].map((command) => leader.node.propose(command));
    await cluster.run(200);
    await Promise.all(proposals);
    await cluster.stop();
    expect(seen.length).toBeGreaterThanOrEqual(9);
    for (const [onDisk, stepped] of seen) expect(onDisk).toBe(stepped);
  });

  it('reports the first transition that does not match the recording', async () => {
    await recordedRun();
    const path = join(dir, 'a.trace');
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    // Change the seed: the same events now give different election timeouts.
    const start = JSON.parse(lines[0]!);
    start.config.seed += 1;
    lines[0] = JSON.stringify(start);
    await writeFile(path, `${lines.join('\n')}\n`);
    const matches = [...replay(await readTrace<string>(path))].map((step) => step.matched);
    expect(matches[0]).toBe(false);
  });

  it('refuses to start a node whose trace file cannot be created, instead of running without one', async () => {
    const path = join(dir, 'a.trace');
    await writeFile(path, 'an earlier run\n');
    const cluster = new TestCluster(['a'], () => ({ tracePath: path }));
    await expect(cluster.nodes.get('a')!.node.start()).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await readFile(path, 'utf8')).toBe('an earlier run\n');
    // The node released what it had opened: with a new trace file it starts.
    const again = new TestCluster(['a'], () => ({ tracePath: join(dir, 'a2.trace') }));
    await again.start();
    await again.stop();
  });

  it('leaves out a torn last line, and refuses damage anywhere else', () => {
    const start = JSON.stringify({
      type: 'start',
      version: 1,
      config: {},
      durable: { hardState: { term: 0, votedFor: null }, entries: [] },
      digest: 'd',
    });
    const event = JSON.stringify({
      type: 'event',
      event: { type: 'timeout', timer: 'election' },
      digest: 'e',
    });
    const torn = parseTrace(`${start}\n${event}\n{"type":"ev`, 'torn');
    expect(torn.tornTail).toBe(true);
    expect(torn.events).toHaveLength(1);
    expect(() => parseTrace(`${start}\n{"type":"ev\n${event}\n`, 'damaged')).toThrow(
      new TraceFormatError('damaged:2: not a JSON line'),
    );
    expect(() => parseTrace(`${event}\n`, 'headless')).toThrow(/first line must be the start record/);
  });
});
