/**
 * Power loss, simulated (power-loss.ts): what was synced stays, what was written and not synced is lost, torn
 * or half there. Whatever a crash leaves, the log recovers the state after a prefix of the persists that
 * includes every acknowledged one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { DiskStorage } from './disk.js';
import { PowerLoss, seededRandom } from './power-loss.js';
import { runWorkload } from './workload.js';
import { acknowledge, expectSurvived, nothingAcknowledged, reopen } from './workload-check.js';

const SEEDS = Number(process.env.POWER_LOSS_SEEDS ?? 12);

let simulation: PowerLoss;
let root: string;
beforeAll(async () => {
  simulation = await PowerLoss.install();
  root = await mkdtemp(join(tmpdir(), 'pureraft-power-loss-'));
});
afterAll(async () => {
  simulation.uninstall();
  await rm(root, { recursive: true, force: true });
});

describe('DiskStorage after a simulated power loss', () => {
  it(`keeps every acknowledged persist and nothing out of order (${SEEDS} seeds)`, async () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const random = seededRandom(seed);
      const dir = await mkdtemp(join(root, `run-${seed}-`));
      const after = await mkdtemp(join(root, `image-${seed}-`));
      const storage = new DiskStorage<string>(dir, { segmentBytes: 8 * 1024, idleMarkMs: 5 });
      const durable = await storage.load();
      const acknowledged = nothingAcknowledged();
      // The power fails once this many persists were acknowledged, with others in flight.
      const failAt = 5 + random(150);
      let failed: Promise<void> | null = null;
      await runWorkload(storage, durable, {
        maxEntries: 400,
        deadline: Date.now() + 10_000,
        snapshotInterval: seed % 2 === 0 ? 30 : 0,
        report: (line) => {
          if (failed !== null) return;
          acknowledge(acknowledged, line);
          if (acknowledged.entries.length + acknowledged.snapshots.length >= failAt) {
            failed = simulation.image(dir, after, random);
          }
        },
      });
      await failed;
      await storage.close();
      try {
        expectSurvived(await reopen(after), [acknowledged]);
      } catch (error) {
        throw new Error(`seed ${seed}: ${(error as Error).message}`);
      }
    }
  });
});
