/**
 * Tells apart the files a person opens: one failing property's trace (a JSON document), or real nodes'
 * traces (JSON lines, one file per incarnation; a cluster's --trace-dir holds several).
 */
import type { Trace } from '../../../properties/trace.js';
import { parseTrace } from '../../../src/runtime/node/trace.js';
import type { NodeTraceFile } from './node-traces.js';
import { isPropertyTrace } from './property-trace.js';

export interface TextFile {
  readonly name: string;
  readonly text: string;
}

export type Opened =
  | { readonly kind: 'property'; readonly name: string; readonly trace: Trace }
  | { readonly kind: 'nodes'; readonly files: readonly NodeTraceFile[] };

function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Throws (TraceFormatError, or Error) with a message for the person when the files are neither. */
export function recognize(files: readonly TextFile[]): Opened {
  if (files.length === 0) throw new Error('no file');
  const [first] = files;
  if (files.length === 1) {
    const document = jsonOrUndefined(first!.text);
    if (isPropertyTrace(document)) return { kind: 'property', name: first!.name, trace: document };
  }
  const traces = files.map(({ name, text }) => ({ name, trace: parseTrace<unknown>(text, name) }));
  return { kind: 'nodes', files: [...traces].sort((a, b) => (a.name < b.name ? -1 : 1)) };
}
