import { describe, expect, it } from 'vitest';
import { LatencyRecorder, parseLatencyRecords } from './latency.js';
import { TestCluster } from './test-support.js';

describe('latency marks', () => {
  it("mark an entry's way on the leader and on the followers, in order", async () => {
    const recorders = new Map(['a', 'b', 'c'].map((id) => [id, new LatencyRecorder(id)]));
    const cluster = new TestCluster(['a', 'b', 'c'], (id) => ({ latency: recorders.get(id)! }));
    await cluster.start();
    const leader = await cluster.leader();
    const result = leader.node.propose('x');
    await cluster.run(200);
    const index = await result;
    await cluster.stop();
    const stages = (id: string, peer?: string) =>
      recorders
        .get(id)!
        .records.filter(
          (r) => r.index === index && (peer === undefined || r.peer === undefined || r.peer === peer),
        )
        .map((r) => r.stage);
    const followers = ['a', 'b', 'c'].filter((id) => id !== leader.node.id);
    for (const follower of followers) {
      expect(stages(follower)).toEqual(['received', 'persisted', 'acked', 'applied']);
      const leaderSide = stages(leader.node.id, follower).filter((s) => s === 'sent' || s === 'ackReceived');
      expect(leaderSide).toEqual(['sent', 'ackReceived']);
    }
    const own = stages(leader.node.id).filter((s) => s !== 'sent' && s !== 'ackReceived');
    expect(own).toEqual(['proposed', 'persisted', 'committed', 'applied']);
    const times = recorders
      .get(leader.node.id)!
      .records.filter((r) => r.index === index)
      .map((r) => r.ns);
    expect(times).toEqual([...times].sort((x, y) => x - y));
  });

  it('marks each acknowledged index once, and stops at its limit', () => {
    const recorder = new LatencyRecorder('n', 5);
    recorder.markThrough('ackReceived', 3, 'p');
    recorder.markThrough('ackReceived', 3, 'p');
    recorder.markThrough('ackReceived', 5, 'p');
    expect(recorder.records.map((r) => r.index)).toEqual([3, 4, 5]);
    recorder.markRange('applied', 1, 4);
    expect(recorder.records).toHaveLength(5);
    expect(recorder.dropped).toBe(2);
    const text = recorder.records.map((r) => `${JSON.stringify(r)}\n`).join('');
    expect(parseLatencyRecords(text)).toEqual(recorder.records);
  });
});
