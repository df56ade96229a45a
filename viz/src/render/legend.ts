/** The key to the colours: message types (requests filled, responses hollow) and timers. */
import type { MessageType } from '../../../src/core/index.js';
import { MESSAGE_COLORS, TIMER_COLORS } from './palette.js';

const REQUESTS: readonly MessageType[] = [
  'PreVote',
  'RequestVote',
  'AppendEntries',
  'InstallSnapshot',
  'TimeoutNow',
];

export function drawLegend(container: HTMLElement): void {
  const item = (color: string, label: string, hollow = false): HTMLSpanElement => {
    const span = document.createElement('span');
    const dot = document.createElement('i');
    dot.style.background = hollow ? 'transparent' : color;
    dot.style.border = `2px solid ${color}`;
    span.append(dot, label);
    return span;
  };
  container.replaceChildren(
    ...REQUESTS.map((type) => item(MESSAGE_COLORS[type], type)),
    item('#aaa', 'response', true),
    ...Object.entries(TIMER_COLORS).map(([name, color]) => item(color, `${name} timer`)),
  );
}
