/**
 * The node's own pseudo-random generator (mulberry32), as a pure function of a 32-bit state that lives in
 * RaftState: the same seed and events give the same election timeouts, so any run replays exactly.
 */
export function nextRandom(state: number): readonly [value: number, state: number] {
  const next = (state + 0x6d2b79f5) | 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  const value = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  return [value, next];
}

/** A value drawn uniformly from [min, max), an integer when both bounds are. */
export function randomIn(state: number, min: number, max: number): readonly [value: number, state: number] {
  const [unit, next] = nextRandom(state);
  const span = max - min;
  const value =
    Number.isInteger(min) && Number.isInteger(max) ? min + Math.floor(unit * span) : min + unit * span;
  return [value, next];
}
