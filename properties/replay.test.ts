import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { propertySeed } from './env.js';
import type { MutantName } from './mutants.js';
import { checkProperty } from './property.js';
import { replayTrace } from './replay.js';
import { type PropertyKind, readTrace } from './trace.js';

const REPLAY = fileURLToPath(new URL('./replay.ts', import.meta.url));

/**
 * Cheap failures to record: a mutant each property catches in the first few histories, and ones whose
 * histories snapshot and change the membership (nodes join while the history runs, and must again on replay).
 */
const FAILURES: readonly { property: PropertyKind; mutant: MutantName }[] = [
  { property: 'safety', mutant: 'votes-for-any-log' },
  { property: 'liveness', mutant: 'ignores-acks' },
  { property: 'rejoin', mutant: 'without-pre-vote' },
  { property: 'safety', mutant: 'compacts-to-applied' },
  { property: 'safety', mutant: 'skips-joint-consensus' },
];

describe.each(FAILURES)('a $property failure (mutant $mutant)', ({ property, mutant }) => {
  const directory = mkdtempSync(join(tmpdir(), 'pureraft-traces-'));
  const outcome = checkProperty({
    property,
    size: 3,
    runs: 200,
    seed: propertySeed(),
    mutant,
    traceDirectory: directory,
  });
  const path = outcome.failure?.tracePath ?? '';

  it('is shrunk and written as a trace that reads back whole', () => {
    expect(outcome.failure, 'the mutant was not caught').toBeDefined();
    expect(readTrace(path)).toEqual(outcome.failure?.trace);
    expect(outcome.failure?.trace.actions.length).toBeLessThan(30);
  });

  it('replays exactly: the same steps, the same broken property, every time', () => {
    const trace = readTrace(path);
    const first: string[] = [];
    const second: string[] = [];
    expect(replayTrace(trace, (line) => first.push(line))).toEqual(trace.violation);
    expect(replayTrace(trace, (line) => second.push(line))).toEqual(trace.violation);
    expect(second).toEqual(first);
    expect(first.some((line) => line.includes('send '))).toBe(true);
    // The real reducer gets through the same history: the failure is the mutant's.
    expect(replayTrace({ ...trace, mutant: undefined })).toBeUndefined();
  });

  it('npm run replay prints the steps and the broken property, and exits with 1', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', REPLAY, path], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(1);
    expect(result.stdout).toContain(' <- ');
    expect(result.stdout).toContain('BROKEN at action');
    expect(result.stdout).toContain('reproduces the recorded failure exactly');
  });
});
