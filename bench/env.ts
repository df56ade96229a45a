/** Settings the benchmarks read from the environment, checked: a bad value stops the run with a clear message. */

/** Whole seconds from `name`, `fallback` when unset or empty, at most `max`. */
export function secondsFromEnv(name: string, fallback: number, max: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > max)
    throw new Error(`${name}: expected whole seconds from 0 to ${max}, got ${text}`);
  return seconds;
}
