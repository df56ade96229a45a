/**
 * The properties' names, apart from trace.ts (which reads and writes files) so that the visualizer's page can
 * check a trace's property without bundling node:fs. safety and liveness run on random histories
 * (arbitraries.ts); rejoin and stale on targeted ones (rejoin.ts, stale.ts), stale under the safety checks alone.
 */
export type PropertyKind = 'safety' | 'liveness' | 'rejoin' | 'stale';

export const PROPERTY_KINDS: readonly PropertyKind[] = ['safety', 'liveness', 'rejoin', 'stale'];

export function isPropertyKind(value: unknown): value is PropertyKind {
  return typeof value === 'string' && (PROPERTY_KINDS as readonly string[]).includes(value);
}
