/**
 * A new data directory is made durable before `load` resolves: its first segment and its STATE are whole on disk,
 * so that a power loss before the first write leaves a directory that loads, not one that needs a person.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskStorage } from './disk.js';
import { PowerLoss } from './power-loss.js';

let simulation: PowerLoss;
let root: string;
beforeAll(async () => {
  simulation = await PowerLoss.install();
  root = await mkdtemp(join(tmpdir(), 'pureraft-fresh-power-loss-'));
});
afterAll(async () => {
  simulation.uninstall();
  await rm(root, { recursive: true, force: true });
});

describe('a new directory, then a power loss before anything is written', () => {
  it('loads again, empty, with what was unsynced lost', async () => {
    const dir = join(root, 'data');
    const after = await mkdtemp(join(root, 'image-'));
    const storage = new DiskStorage<string>(dir);
    await storage.load();
    // Nothing written since load: every byte not synced is lost.
    await simulation.image(dir, after, () => 0);
    await storage.close();
    const reopened = new DiskStorage<string>(after);
    try {
      expect(await reopened.load()).toEqual({ hardState: { term: 0, votedFor: null }, entries: [] });
    } finally {
      await reopened.close();
    }
  });
});
