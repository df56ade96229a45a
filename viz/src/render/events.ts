/**
 * The events around the cursor, one line each in the words of `npm run replay` (properties/format.ts), the
 * current one with the effects it produced; the event where a property broke in red. Click one to go there.
 */
import { formatEffect, formatEvent } from '../../../properties/format.js';
import type { RecordedEvent, Recording } from '../model/recording.js';

const BEFORE = 12;
const AFTER = 5;

export function describeEvent(event: RecordedEvent<unknown>): string {
  switch (event.kind) {
    case 'step':
      return `${event.node} ← ${formatEvent(event.event)}`;
    case 'crash':
      return `${event.node} crashed`;
    case 'restart':
      return `${event.node} started`;
    case 'action':
      return `» ${event.text}`;
  }
}

/** While the cursor moves on its own, the list is redrawn at most this often: text that changes faster is a blur. */
const REFRESH_MS = 100;

export class EventsView {
  readonly #list: HTMLOListElement;
  #shown = '';
  #drawnAt = 0;

  constructor(list: HTMLOListElement, onSeek: (event: number) => void) {
    this.#list = list;
    list.addEventListener('click', (click) => {
      const item = (click.target as Element).closest('li');
      if (item?.dataset.event !== undefined) onSeek(Number(item.dataset.event));
    });
  }

  update(recording: Recording<unknown>, current: number, moving: boolean): void {
    const now = performance.now();
    if (moving && now - this.#drawnAt < REFRESH_MS) return;
    const from = Math.max(0, current - BEFORE);
    const to = Math.min(recording.length - 1, current + AFTER);
    const key = `${recording.length}:${current}:${from}:${to}`;
    if (key === this.#shown) return;
    this.#shown = key;
    this.#drawnAt = now;
    const broken = recording.violation?.event;
    const items: HTMLLIElement[] = [];
    for (let index = from; index <= to; index++) {
      const event = recording.events[index]!;
      const item = document.createElement('li');
      item.dataset.event = String(index);
      const time = recording.axis === 'time' ? ` ${Math.round(event.time)}ms` : '';
      item.textContent = `#${index}${time} ${describeEvent(event)}`;
      item.title = item.textContent;
      if (event.kind === 'action') item.classList.add('action');
      if (index === current) {
        item.classList.add('current');
        if (event.kind === 'step') {
          for (const effect of event.effects) {
            const line = document.createElement('span');
            line.className = 'effects';
            line.textContent = formatEffect(effect);
            item.append(line);
          }
        }
      }
      if (index === broken) item.classList.add('broken');
      items.push(item);
    }
    this.#list.replaceChildren(...items);
  }
}
