/**
 * A simulated run as a link: the seed, the size, the knobs at the start, the tape of actions and where the
 * viewer was, in the URL's fragment. Opening the link replays the same run to the same moment.
 *
 *   #seed=7&nodes=5&loss=0&dup=0&delay=30&load=0&compact=0&tape=812.1530.crash.n3~990.2100.knob.loss.0.1&at=1200.2500
 *
 * `inflight` (how deep a leader pipelines its appends, the core's maxInflightAppends) is there when set.
 *
 * A tape entry is `item.time.action` with the action's fields in a fixed order; entries are joined by `~`. A
 * time may be fractional (`1530.25`): the part after its point is digits, where an action's name never is.
 */
import type { Knobs, TapeEntry, UserAction } from './actions.js';
import { DEFAULT_KNOBS, type RunSetup } from './sim-run.js';

export interface RunLink {
  readonly setup: RunSetup;
  readonly tape: readonly TapeEntry[];
  /** Where the viewer was: replay up to here. */
  readonly at?: { readonly item: number; readonly time: number };
}

const KNOB_PARAMS: Record<keyof Knobs, string> = {
  loss: 'loss',
  duplicate: 'dup',
  delay: 'delay',
  load: 'load',
  compactEvery: 'compact',
};

const NODE_ACTIONS = ['crash', 'restart', 'isolate', 'rejoin', 'timeout', 'snapshot', 'transfer'] as const;

function encodeAction(action: UserAction): string {
  switch (action.type) {
    case 'cut':
    case 'heal':
      return `${action.type}.${action.a}.${action.b}`;
    case 'propose':
      return 'propose';
    case 'knob':
      return `knob.${action.knob}.${action.value}`;
    default:
      return `${action.type}.${action.node}`;
  }
}

export class LinkError extends Error {
  override readonly name = 'LinkError';
}

function decodeAction(parts: readonly string[]): UserAction {
  const [type, first, ...rest] = parts;
  const fail = (): never => {
    throw new LinkError(`not an action: ${parts.join('.')}`);
  };
  if (type === 'propose') return { type };
  if (first === undefined) return fail();
  if ((NODE_ACTIONS as readonly string[]).includes(type!)) {
    return { type: type as (typeof NODE_ACTIONS)[number], node: first };
  }
  if ((type === 'cut' || type === 'heal') && rest.length === 1) return { type, a: first, b: rest[0]! };
  if (type === 'knob' && first in KNOB_PARAMS) {
    return { type, knob: first as keyof Knobs, value: number(rest.join('.')) };
  }
  return fail();
}

/**
 * A time, and what follows it, from the parts of a `.`-separated text: a simulated time can be fractional
 * (a message's delay), and its decimal point is also the separator. An action's name is never a number, so a
 * part of digits after the time's is its fraction.
 */
function splitTime(parts: readonly string[]): [string | undefined, string[]] {
  const [whole, fraction, ...rest] = parts;
  if (fraction !== undefined && /^\d+$/.test(fraction)) return [`${whole}.${fraction}`, rest];
  return [whole, fraction === undefined ? [] : [fraction, ...rest]];
}

function number(text: string | null | undefined): number {
  const value = Number(text);
  if (text == null || text === '' || !Number.isFinite(value)) throw new LinkError(`not a number: ${text}`);
  return value;
}

export function encodeLink({ setup, tape, at }: RunLink): string {
  const params = new URLSearchParams({ seed: String(setup.seed), nodes: String(setup.nodes) });
  for (const [knob, param] of Object.entries(KNOB_PARAMS)) {
    params.set(param, String(setup.knobs[knob as keyof Knobs]));
  }
  if (tape.length > 0) {
    params.set(
      'tape',
      tape.map((entry) => `${entry.item}.${entry.time}.${encodeAction(entry.action)}`).join('~'),
    );
  }
  if (setup.inflight !== undefined) params.set('inflight', String(setup.inflight));
  if (at !== undefined) params.set('at', `${at.item}.${at.time}`);
  return params.toString();
}

/** The run a fragment describes; undefined when it describes none (no seed). Throws LinkError when malformed. */
export function decodeLink(fragment: string): RunLink | undefined {
  const params = new URLSearchParams(fragment.replace(/^#/, ''));
  if (!params.has('seed')) return undefined;
  const knobs = { ...DEFAULT_KNOBS };
  for (const [knob, param] of Object.entries(KNOB_PARAMS)) {
    if (params.has(param)) knobs[knob as keyof Knobs] = number(params.get(param));
  }
  const nodes = params.has('nodes') ? number(params.get('nodes')) : 5;
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9)
    throw new LinkError(`nodes must be 1..9, got ${nodes}`);
  const tape = (params.get('tape') ?? '')
    .split('~')
    .filter((entry) => entry !== '')
    .map((entry): TapeEntry => {
      const [item, ...rest] = entry.split('.');
      const [time, action] = splitTime(rest);
      return { item: number(item), time: number(time), action: decodeAction(action) };
    });
  const [atItem, ...atRest] = params.get('at')?.split('.') ?? [];
  const at = atItem === undefined ? undefined : [atItem, splitTime(atRest)[0]];
  const inflight = params.has('inflight') ? number(params.get('inflight')) : undefined;
  if (inflight !== undefined && !(Number.isInteger(inflight) && inflight >= 1)) {
    throw new LinkError(`inflight must be a positive integer, got ${inflight}`);
  }
  return {
    setup: { seed: number(params.get('seed')), nodes, knobs, ...(inflight !== undefined && { inflight }) },
    tape,
    ...(at !== undefined && { at: { item: number(at[0]), time: number(at[1]) } }),
  };
}
