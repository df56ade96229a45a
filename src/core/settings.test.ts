import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultCommandSize } from './settings.js';

describe('defaultCommandSize', () => {
  it('measures a string as its UTF-8 bytes, ASCII or not, lone surrogates included', () => {
    const seed = Number(process.env.PROPERTY_SEED ?? Date.now() % 2 ** 31);
    console.log(`command size property: seed ${seed}`);
    const anyUnit = fc.nat(0xffff).map((code) => String.fromCharCode(code));
    const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: anyUnit }));
    fc.assert(
      fc.property(text, (command) => {
        expect(defaultCommandSize(command)).toBe(new TextEncoder().encode(command).length);
      }),
      { seed, numRuns: 2000 },
    );
    expect(defaultCommandSize('cmd-000000000001')).toBe(16);
    expect(defaultCommandSize('é')).toBe(2);
  });
});
