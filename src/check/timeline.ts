/**
 * A history drawn as an HTML page: one row per client, each operation a bar from its invocation to its
 * completion (open-ended and dashed when its outcome is unknown), fault windows shaded across all rows, and a
 * failure's window outlined in red with the culprit marked. Hovering a bar shows the operation.
 */
import { describeOperation } from './describe.js';
import type { History, Operation } from './history.js';
import type { Model } from './model.js';
import type { Failure } from './window.js';

export interface TimelineBand {
  readonly label: string;
  readonly start: number;
  /** Absent: still going at the end. */
  readonly end?: number;
}

export interface TimelineOptions<I, O> {
  readonly title?: string;
  /** Shaded windows, e.g. the faults injected. */
  readonly bands?: readonly TimelineBand[];
  readonly failure?: Failure<I, O>;
  /** Draw only operations overlapping [from, to] (a long history around its failure, say). */
  readonly range?: readonly [number, number];
}

const ROW = 22;
const LEFT = 80;
const TOP = 40;

const html = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** A bar's color by the operation's kind: the first word of its description (get, put, cas, ...). */
function colorOf(description: string): string {
  const kind = /^\w+/.exec(description)?.[0] ?? '';
  return (
    ({ get: '#6baed6', put: '#74c476', cas: '#fd8d3c', delete: '#969696' } as Record<string, string>)[kind] ??
    '#9e9ac8'
  );
}

export function renderTimeline<S, I, O>(
  model: Model<S, I, O>,
  history: History<I, O>,
  options: TimelineOptions<I, O> = {},
): string {
  const times = history.flatMap((o) => [o.invoked, ...(o.completed === undefined ? [] : [o.completed])]);
  const [from, to] = options.range ?? [Math.min(...times), Math.max(...times)];
  const span = Math.max(to - from, 1);
  const width = Math.min(40_000, Math.max(1_200, span * 0.2));
  const x = (t: number) => LEFT + ((Math.min(Math.max(t, from), to) - from) / span) * width;
  const drawn = history.filter((o) => o.invoked <= to && (o.completed ?? Number.POSITIVE_INFINITY) >= from);
  const clients = [...new Set(drawn.map((o) => String(o.client)))].sort((a, b) =>
    a.localeCompare(b, undefined, { numeric: true }),
  );
  const row = new Map(clients.map((client, i) => [client, TOP + i * ROW]));
  const height = TOP + clients.length * ROW + 20;
  const inWindow = new Set<Operation<I, O>>(options.failure?.window ?? []);
  const parts: string[] = [];
  for (const band of options.bands ?? []) {
    const x0 = x(band.start);
    const x1 = x(band.end ?? to);
    parts.push(
      `<rect x="${x0}" y="${TOP - 14}" width="${Math.max(x1 - x0, 1)}" height="${height - TOP + 14}" fill="rgba(230,60,60,0.10)"><title>${html(band.label)}</title></rect>`,
      `<text x="${x0 + 2}" y="${TOP - 18}" class="band">${html(band.label)}</text>`,
    );
  }
  const failure = options.failure;
  if (failure !== undefined && failure.window.length > 0) {
    const x0 = x(Math.min(...failure.window.map((o) => o.invoked)));
    const x1 = x(Math.max(...failure.window.map((o) => o.completed ?? to)));
    parts.push(
      `<rect x="${x0 - 3}" y="${TOP - 6}" width="${x1 - x0 + 6}" height="${height - TOP}" fill="rgba(255,220,0,0.25)" />`,
    );
  }
  const step = tickStep(span);
  for (let t = Math.ceil(from / step) * step; t <= to; t += step)
    parts.push(
      `<line x1="${x(t)}" x2="${x(t)}" y1="${TOP - 8}" y2="${height}" class="tick" /><text x="${x(t) + 2}" y="${height - 4}" class="axis">${((t - from) / 1000).toFixed(step < 1000 ? 2 : 0)} s</text>`,
    );
  for (const [client, y] of row)
    parts.push(`<text x="4" y="${y + 14}" class="client">${html(client)}</text>`);
  for (const operation of drawn) {
    const y = row.get(String(operation.client))!;
    const x0 = x(operation.invoked);
    const x1 = Math.max(x(operation.completed ?? to), x0 + 2);
    const description = describeOperation(model as Model<unknown, I, O>, operation, from);
    const what = description.slice(description.indexOf(': ') + 2);
    const unknown = operation.completed === undefined;
    const outline =
      operation === failure?.culprit
        ? ' stroke="#d00" stroke-width="3"'
        : inWindow.has(operation)
          ? ' stroke="#d00" stroke-width="1.5"'
          : '';
    parts.push(
      `<g><title>${html(description)}</title><rect x="${x0}" y="${y + 2}" width="${x1 - x0}" height="${ROW - 6}" rx="3" fill="${colorOf(what)}"${unknown ? ' fill-opacity="0.35" stroke="#555" stroke-dasharray="4 3"' : ''}${outline} />` +
        (x1 - x0 > 70 || inWindow.has(operation)
          ? `<text x="${x0 + 3}" y="${y + 14}" class="op">${html(what)}</text>`
          : '') +
        '</g>',
    );
  }
  const title = html(options.title ?? 'History');
  const legend = failure
    ? `<p><b>Not linearizable</b> on ${html(JSON.stringify(failure.partition))}: the outlined operations admit no linearization${failure.fromInit ? ' from the initial state' : ` from any state the earlier ones could leave (${html(failure.startStates.map((s) => JSON.stringify(s)).join(', '))})`}; the thick outline cannot be linearized.</p>`
    : '';
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title><style>
body { font: 13px system-ui, sans-serif; margin: 12px; }
svg text { font: 11px ui-monospace, monospace; }
.client { font-weight: bold; } .band { fill: #a00; } .axis { fill: #666; } .tick { stroke: #eee; }
.op { pointer-events: none; }
</style></head><body>
<h2>${title}</h2>
<p>${drawn.length} operations by ${clients.length} clients. Bars: <span style="color:#3182bd">get</span>, <span style="color:#31a354">put</span>, <span style="color:#e6550d">cas</span>, <span style="color:#636363">delete</span>; dashed: outcome unknown. Shaded: faults.</p>
${legend}
<div style="overflow-x: auto"><svg width="${LEFT + width + 40}" height="${height}">${parts.join('')}</svg></div>
</body></html>
`;
}

/** A round tick interval giving roughly 10 to 25 ticks. */
function tickStep(span: number): number {
  for (const step of [10, 50, 100, 250, 500, 1_000, 5_000, 10_000, 30_000, 60_000])
    if (span / step <= 25) return step;
  return 300_000;
}
