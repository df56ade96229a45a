/** Runs every script in testdata/ (see script.ts) and compares each command's output with the expected text. */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatScript, parseScript, ScriptRunner } from './script.js';

const dir = join(import.meta.dirname, 'testdata');
const rewrite = process.env.REWRITE === '1';

describe('scripted interactions (testdata/*.txt)', () => {
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.txt'))) {
    it(file, () => {
      const path = join(dir, file);
      const text = readFileSync(path, 'utf8');
      const runner = new ScriptRunner();
      const results = parseScript(text).map((block) => ({ ...block, actual: runner.run(block.command) }));
      if (rewrite) writeFileSync(path, formatScript(results));
      for (const { command, expected, actual } of results) {
        expect(`${command}\n${actual}`).toBe(`${command}\n${expected}`);
      }
    });
  }
});
