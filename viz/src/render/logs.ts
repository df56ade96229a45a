/**
 * Every node's log as a row of cells, one column per index (the same index lines up across rows), coloured
 * by term; committed cells solid with a bar under them, uncommitted ones faint; what a snapshot compacted
 * hatched. DOM cells (a few hundred), reused from frame to frame and touched only where something changed.
 */
import type { LogRow, View } from '../model/view.js';
import { termColor } from './palette.js';

interface RowShape {
  readonly row: HTMLDivElement;
  readonly base: HTMLSpanElement;
  readonly cells: HTMLDivElement;
  signature: string;
}

function signature(row: LogRow, from: number, to: number): string {
  const cells = row.cells.map((cell) => `${cell.index}:${cell.term}:${cell.committed ? 1 : 0}:${cell.text}`);
  return `${from}-${to}|${row.snapshotIndex}|${cells.join(',')}`;
}

export class LogsView {
  readonly #container: HTMLElement;
  readonly #rows = new Map<string, RowShape>();

  constructor(container: HTMLElement) {
    this.#container = container;
  }

  reset(ids: readonly string[]): void {
    this.#container.replaceChildren();
    this.#rows.clear();
    for (const id of ids) {
      const row = document.createElement('div');
      row.className = 'log-row';
      row.dataset.log = id;
      const who = document.createElement('span');
      who.className = 'who';
      who.textContent = id;
      const base = document.createElement('span');
      base.className = 'base';
      const cells = document.createElement('div');
      cells.className = 'cells';
      row.append(who, base, cells);
      this.#container.append(row);
      this.#rows.set(id, { row, base, cells, signature: '' });
    }
  }

  update(view: View): void {
    const { from, to } = view.window;
    for (const row of view.logs) {
      const shape = this.#rows.get(row.id);
      if (shape === undefined) continue;
      const next = signature(row, from, to);
      if (next === shape.signature) continue;
      shape.signature = next;
      this.#fill(shape, row, from, to);
    }
  }

  #fill(shape: RowShape, row: LogRow, from: number, to: number): void {
    shape.base.textContent = row.snapshotIndex > 0 ? `snap ${row.snapshotIndex}` : '';
    shape.base.title = row.snapshotIndex > 0 ? `entries through ${row.snapshotIndex} are in a snapshot` : '';
    const byIndex = new Map(row.cells.map((cell) => [cell.index, cell]));
    const wanted = Math.max(0, to - from + 1);
    while (shape.cells.children.length < wanted) shape.cells.append(document.createElement('div'));
    while (shape.cells.children.length > wanted) shape.cells.lastElementChild!.remove();
    for (let index = from; index <= to; index++) {
      const element = shape.cells.children[index - from] as HTMLDivElement;
      const cell = byIndex.get(index);
      element.dataset.index = String(index);
      if (cell !== undefined) {
        element.className = `cell ${cell.kind}${cell.committed ? ' committed' : ''}`;
        element.style.background = termColor(cell.term);
        element.textContent = String(cell.term);
        element.title = `#${index} term ${cell.term} ${cell.text}${cell.committed ? ' (committed)' : ''}`;
        element.dataset.term = String(cell.term);
        element.dataset.committed = String(cell.committed);
      } else {
        const compacted = index <= row.snapshotIndex;
        element.className = compacted ? 'cell compacted' : 'cell empty';
        element.style.background = compacted ? '' : 'transparent';
        element.textContent = compacted ? '▒' : '';
        element.title = compacted ? `#${index}: compacted into the snapshot` : '';
        delete element.dataset.term;
        delete element.dataset.committed;
      }
    }
  }
}
