/**
 * Tells apart the files a person opens: one failing property's trace (a JSON document), or real nodes'
 * traces (JSON lines, one file per incarnation; a cluster's --trace-dir holds several).
 */
import type { Trace } from '../../../properties/trace.js';
import { isPropertyTrace } from './property-trace.js';
import type { TraceText } from './trace-lines.js';

export type Opened =
  | { readonly kind: 'property'; readonly name: string; readonly trace: Trace }
  /** In name order: a node's incarnations, as the cluster names them, come in the order they ran. */
  | { readonly kind: 'nodes'; readonly files: readonly TraceText[] };

function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function recognize(files: readonly TraceText[]): Opened {
  if (files.length === 0) throw new Error('no file');
  if (files.length === 1) {
    const [only] = files;
    const document = jsonOrUndefined(only!.text);
    if (isPropertyTrace(document)) return { kind: 'property', name: only!.name, trace: document };
  }
  return { kind: 'nodes', files: [...files].sort((a, b) => (a.name < b.name ? -1 : 1)) };
}
