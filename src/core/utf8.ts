/** UTF-8 lengths without encoding: the core measures commands and configurations for its byte budgets. */

/**
 * A string's length in UTF-8, as `TextEncoder` would write it, counted from its UTF-16 code units without
 * encoding it (which would allocate a buffer): measured on every entry a leader sends, and on every node id a
 * frame carries. A code unit below 0x80 is one byte, below 0x800 two; a surrogate pair is four; any other unit,
 * a lone surrogate too (written as U+FFFD), is three.
 */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) bytes += 1;
    else if (isHighSurrogate(unit) && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}

const isHighSurrogate = (unit: number) => unit >= 0xd800 && unit <= 0xdbff;
const isLowSurrogate = (unit: number) => unit >= 0xdc00 && unit <= 0xdfff;
