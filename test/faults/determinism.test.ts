/**
 * A seed fixes each client's sequence of operations and the fault schedule's choices, however the answers are
 * timed and whichever node leads: the clients run against a stand-in service that answers after random delays,
 * the schedule against a stand-in cluster whose leader comes and goes.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WORKLOAD, Workload } from '../../src/check/torture/client.js';
import { poll, type TortureCluster } from '../../src/check/torture/cluster.js';
import { type FaultName, type FaultWindow, runSchedule } from '../../src/check/torture/faults.js';
import { Random } from '../../src/check/torture/random.js';

/** A key-value service on loopback that answers each request after 0–15 ms, drawn afresh every time. */
let server: Server;
let url: string;

beforeAll(async () => {
  const data = new Map<string, string>();
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      setTimeout(() => {
        const key = decodeURIComponent(request.url!.slice('/kv/'.length));
        const answer = (status: number, json: unknown) => {
          response.writeHead(status, { 'content-type': 'application/json' });
          response.end(JSON.stringify(json));
        };
        const current = data.get(key) ?? null;
        if (request.method === 'GET')
          return current === null
            ? answer(404, { error: 'key not found' })
            : answer(200, { key, value: current });
        if (request.method === 'PUT') {
          data.set(key, body);
          return answer(200, { key, previous: current });
        }
        if (request.method === 'DELETE') {
          data.delete(key);
          return answer(200, { key, deleted: current !== null });
        }
        const { expect: expected, value } = JSON.parse(body) as { expect: string | null; value: string };
        if (expected !== current) return answer(409, { error: 'compare failed', current });
        data.set(key, value);
        return answer(200, { key });
      }, Math.random() * 15);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const CLIENTS = 8;
/** How many of each client's first operations are compared. */
const FIRST = 20;

/** Each client's operations (kind and key), in its order, once each has done `FIRST` (for at most 15 s). */
async function sequences(seed: number): Promise<Map<string, string[]>> {
  const workload = new Workload([url, url, url], { ...DEFAULT_WORKLOAD, clients: CLIENTS, keys: 5 }, seed);
  const byClient = () => {
    const map = new Map<string, string[]>();
    for (const operation of workload.history().sort((a, b) => a.invoked - b.invoked)) {
      const list = map.get(String(operation.client)) ?? [];
      list.push(`${operation.input.op} ${operation.input.key}`);
      map.set(String(operation.client), list);
    }
    return map;
  };
  const running = workload.run();
  await poll(15_000, async () => {
    const map = byClient();
    return map.size === CLIENTS && [...map.values()].every((ops) => ops.length >= FIRST) ? true : undefined;
  });
  workload.stop();
  await running;
  return byClient();
}

describe('a seed fixes', () => {
  it("each client's sequence of operations, however its answers and the others' are timed", async () => {
    const [a, b, other] = await Promise.all([sequences(42), sequences(42), sequences(43)]);
    expect([...a.keys()].sort()).toEqual(Array.from({ length: CLIENTS }, (_, c) => `c${c}`));
    for (const [client, ops] of a) {
      expect(ops.length, client).toBeGreaterThanOrEqual(FIRST);
      expect(b.get(client)!.slice(0, FIRST), client).toEqual(ops.slice(0, FIRST));
      // Another seed, another sequence; and no two clients alike.
      expect(other.get(client)!.slice(0, FIRST), client).not.toEqual(ops.slice(0, FIRST));
    }
    expect(new Set([...a.values()].map((ops) => ops.slice(0, FIRST).join())).size).toBe(a.size);
  }, 20_000);

  it("the fault schedule's choices, whether or not a leader answers", async () => {
    const faults: FaultName[] = ['partition-halves', 'bridge', 'slow-disk', 'one-way', 'kill-follower'];
    const stand = (leader: () => string | undefined) =>
      ({
        ids: ['n1', 'n2', 'n3', 'n4', 'n5'],
        leader: async () => leader(),
        mesh: { partition: () => {}, heal: () => {}, set: () => {} },
        setDiskFaults: async () => {},
        diskFaults: () => ({}),
        crash: async () => {},
        launch: async () => {},
      }) as unknown as TortureCluster;
    const labels = async (leader: () => string | undefined) => {
      const timeline: FaultWindow[] = [];
      const options = {
        faults: ['kill-leader' as const],
        quietMs: [0, 0],
        faultMs: [0, 0],
        maxFaults: 1,
      } as const;
      await runSchedule(stand(leader), new Random(5), options, () => false, timeline);
      return timeline.map((fault) => fault.detail);
    };
    const schedule = async (leader: () => string | undefined) => {
      const cluster = stand(leader);
      const timeline: FaultWindow[] = [];
      await runSchedule(
        cluster,
        new Random(5),
        { faults, quietMs: [0, 0], faultMs: [0, 0], maxFaults: 3 * faults.length },
        () => false,
        timeline,
      );
      // What a fault did to "the leader" or "a follower" depends on which node leads: leave that out.
      return timeline.map((fault) =>
        fault.name === 'partition-halves' || fault.name === 'bridge' || fault.name === 'slow-disk'
          ? fault.detail
          : fault.name,
      );
    };
    const steady = await schedule(() => 'n1');
    expect(await labels(() => 'n1')).toEqual(['kill -9 n1 (leader)']);
    // With no leader answering, the node hit is not called the leader.
    expect(await labels(() => undefined)).toEqual([
      expect.stringMatching(/^kill -9 n\d \(no leader answered: a node at random\)$/),
    ]);
    expect(await schedule(() => undefined)).toEqual(steady);
    expect(await schedule(() => (Math.random() < 0.5 ? 'n2' : undefined))).toEqual(steady);
    expect(new Set(steady).size).toBeGreaterThan(faults.length);
  });
});
