import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { KvNodeConfig } from '../kv/index.js';
import { nodeFlags } from './launcher.js';
import { ConfigError, resolveNodeConfig, settingsFromJson } from './node-config.js';
import { SnapshotSettingsError, snapshotPolicyFlags, snapshotPolicyOf } from './snapshot-flags.js';
import { localNodeArgs } from './test-support.js';

const minimal = { id: 'n1', raft: '127.0.0.1:7001', http: '127.0.0.1:8001', secret: 's' };

describe('the snapshot policy on the command line', () => {
  it('is the default when nothing is set, off with --no-snapshots, and otherwise the limits given', () => {
    expect(snapshotPolicyOf({})).toBeUndefined();
    expect(snapshotPolicyOf({ snapshots: true })).toBeUndefined();
    expect(snapshotPolicyOf({ snapshots: false })).toBe(false);
    expect(snapshotPolicyOf({ snapshotEntries: 500 })).toEqual({ entries: 500 });
    expect(snapshotPolicyOf({ snapshotEntries: 500, snapshotBytes: 1024 })).toEqual({
      entries: 500,
      bytes: 1024,
    });
  });

  it('refuses limits that are not positive integers, and limits with snapshots off', () => {
    const cases: [Parameters<typeof snapshotPolicyOf>[0], RegExp][] = [
      [{ snapshotEntries: 0 }, /--snapshot-entries .* must be a positive integer, got 0/],
      [{ snapshotBytes: -5 }, /--snapshot-bytes .* must be a positive integer, got -5/],
      [{ snapshotBytes: 1.5 }, /"snapshotBytes"\) must be a positive integer, got 1.5/],
      [{ snapshots: false, snapshotEntries: 10 }, /snapshots are off .* a snapshot limit is set/],
    ];
    for (const [settings, message] of cases) {
      expect(() => snapshotPolicyOf(settings)).toThrow(SnapshotSettingsError);
      expect(() => snapshotPolicyOf(settings)).toThrow(message);
    }
  });

  it('comes from the config file too, checked, and reaches `pureraft node` through the launcher', () => {
    const file = settingsFromJson(JSON.stringify({ ...minimal, snapshotBytes: 2048 }), 'cfg.json');
    const config = resolveNodeConfig({ snapshotEntries: 100 }, file, {});
    expect(config.snapshotPolicy).toEqual({ entries: 100, bytes: 2048 });
    expect(
      resolveNodeConfig({}, settingsFromJson(JSON.stringify(minimal), 'cfg.json'), {}),
    ).not.toHaveProperty('snapshotPolicy');
    expect(() => settingsFromJson('{"snapshots": "no"}', 'cfg.json')).toThrow(/snapshots must be a boolean/);
    expect(() => resolveNodeConfig({}, { ...minimal, snapshotEntries: 0 }, {})).toThrow(ConfigError);
    for (const policy of [
      undefined,
      false,
      { entries: 7 },
      { bytes: 9 },
      { entries: 7, bytes: 9 },
    ] as const) {
      const flags = nodeFlags({ ...config, snapshotPolicy: policy } as KvNodeConfig);
      expect(flags.slice(flags.indexOf('--heartbeat') + 2)).toEqual(snapshotPolicyFlags(policy));
    }
    expect(snapshotPolicyFlags({ entries: 7, bytes: 9 })).toEqual([
      '--snapshot-entries',
      '7',
      '--snapshot-bytes',
      '9',
    ]);
  });

  it('answers a bad snapshot flag with a message, the usage and exit code 2', () => {
    const cases: [string[], RegExp][] = [
      [localNodeArgs('--snapshot-entries', '0'), /--snapshot-entries .* must be a positive integer, got 0/],
      [['cluster', '--no-snapshots', '--snapshot-bytes', '4096'], /snapshots are off/],
      [['cluster', '--snapshot-bytes', '4MiB'], /--snapshot-bytes must be an integer, got "4MiB"/],
    ];
    for (const [args, message] of cases) {
      const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect({ args, code: result.status }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toMatch(/--snapshot-entries <n>/);
    }
  });
});
