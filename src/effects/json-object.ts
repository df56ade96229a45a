/**
 * The JSON object a file holds, for the small records a node keeps beside its data (node.json, join.json,
 * peers.json, a snapshot's trailer): undefined when the text is not JSON, or not an object (an array, a number,
 * null). The caller checks the fields and decides what a damaged record means.
 */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  return parsed as Record<string, unknown>;
}
