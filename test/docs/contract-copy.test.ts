/**
 * The contract is kept beside the repository (`../shared/CONTRACT.md`), where the independent suites read it, and
 * copied into it (`docs/CONTRACT.md`), so that a clone has it. Where both exist, they must be equal.
 */
import { existsSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

const copy = new URL('../../docs/CONTRACT.md', import.meta.url);
const shared = new URL('../../../shared/CONTRACT.md', import.meta.url);

it.skipIf(!existsSync(shared))('docs/CONTRACT.md is the shared contract', () => {
  expect(readFileSync(copy, 'utf8')).toBe(readFileSync(shared, 'utf8'));
});
