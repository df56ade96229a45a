/** Which links of a simulated cluster are cut right now, for the recording. */
import type { Cluster } from '../../../src/runtime/simulator/index.js';
import { linkName } from './recording.js';

export function cutLinks<C>(cluster: Cluster<C>): Set<string> {
  const cut = new Set<string>();
  for (const from of cluster.ids) {
    for (const to of cluster.ids) if (from !== to && !cluster.canReach(from, to)) cut.add(linkName(from, to));
  }
  return cut;
}
