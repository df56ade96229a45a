/** Flag parsing: values as the user wrote them, and a clear error where parseArgs alone gives a vague one. */
import { describe, expect, it } from 'vitest';
import { type CommandSpec, type Flag, parseFlags } from './flags.js';

const flags = {
  count: { type: 'integer', description: 'a number' },
  name: { type: 'string', description: 'a name' },
  verbose: { type: 'boolean', description: 'more' },
} as const satisfies Record<string, Flag>;
const spec: CommandSpec<typeof flags> = {
  name: 'try',
  summary: '',
  synopsis: '[flags] <arg>',
  details: '',
  flags,
  positionals: 1,
};

describe('parseFlags', () => {
  it('takes a negative value after a space as the value, for the flag to judge (not "ambiguous")', () => {
    expect(parseFlags(spec, ['--count', '-5', 'x'])).toMatchObject({
      flags: { count: -5 },
      positionals: ['x'],
    });
    expect(parseFlags(spec, ['--count=-5', 'x'])).toMatchObject({ flags: { count: -5 } });
    expect(parseFlags(spec, ['--name', '-1st', 'x'])).toMatchObject({ flags: { name: '-1st' } });
    // A boolean flag takes no value: what follows stays an argument of its own.
    expect(() => parseFlags(spec, ['--verbose', '-5'])).toThrow();
  });

  it('leaves everything after -- as it is', () => {
    expect(parseFlags(spec, ['--', '--count'])).toMatchObject({ flags: {}, positionals: ['--count'] });
    expect(() => parseFlags(spec, ['--', '--count', '-5'])).toThrow(
      /expected 1 argument\(s\), got: --count -5/,
    );
  });
});
