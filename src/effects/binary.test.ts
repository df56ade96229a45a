import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter, jsonCodec } from './binary.js';

describe('the shared binary encoding', () => {
  it('gives strings back exactly, a leading U+FEFF (byte order mark) included', () => {
    const texts = ['\ufeff', '\ufeffstarts with a BOM', 'a\ufeffb', '', 'é🦀'];
    const writer = new ByteWriter();
    for (const text of texts) writer.string(text);
    const reader = new ByteReader(writer.finish());
    for (const text of texts) expect(reader.string()).toBe(text);
    const codec = jsonCodec<string>();
    for (const text of texts) expect(codec.decode(codec.encode(text))).toBe(text);
  });
});
