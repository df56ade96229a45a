/**
 * Every node's log as a row of cells, one column per index (the same index lines up across rows), coloured
 * by term; committed cells solid with a bar under them, uncommitted ones faint; what a snapshot compacted
 * hatched. DOM cells (a few hundred), reused from frame to frame and touched only where something changed.
 */
import type { LogCell, LogRow, View } from '../model/view.js';
import { termColor } from './palette.js';

interface RowShape {
  readonly base: HTMLSpanElement;
  readonly cells: HTMLDivElement;
  /** The cell element of each index shown, in index order (the DOM holds them in the same order). */
  readonly byIndex: Map<number, HTMLDivElement>;
  /** What the row's margin says. */
  note: string;
}

/** What a cell shows, to touch the element only when it changes. */
function cellKey(cell: LogCell | undefined, compacted: boolean): string {
  if (cell === undefined) return compacted ? 'compacted' : 'empty';
  return `${cell.term}|${cell.committed}|${cell.kind}|${cell.text}`;
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
      this.#rows.set(id, { base, cells, byIndex: new Map(), note: '' });
    }
  }

  update(view: View): void {
    const { from, to } = view.window;
    for (const row of view.logs) {
      const shape = this.#rows.get(row.id);
      if (shape !== undefined) this.#fill(shape, row, from, to);
    }
  }

  /**
   * Cells are kept by index: as the window slides on, cells leave on the left and arrive on the right, and
   * the others are left alone unless what they show changed (an entry committed, a log repaired).
   */
  #fill(shape: RowShape, row: LogRow, from: number, to: number): void {
    // A log that ends before the window (a follower far behind) says where it ends; else where its snapshot does.
    const behind = row.lastIndex > 0 && row.lastIndex < from;
    const note = behind ? `…${row.lastIndex}` : row.snapshotIndex > 0 ? `snap ${row.snapshotIndex}` : '';
    if (shape.note !== note) {
      shape.note = note;
      shape.base.textContent = note;
      shape.base.title = behind
        ? `its log ends at ${row.lastIndex}, before the entries shown`
        : row.snapshotIndex > 0
          ? `entries through ${row.snapshotIndex} are in a snapshot`
          : '';
    }
    for (const [index, element] of shape.byIndex) {
      if (index >= from && index <= to) continue;
      element.remove();
      shape.byIndex.delete(index);
    }
    const cells = new Map(row.cells.map((cell) => [cell.index, cell]));
    let previous: HTMLDivElement | undefined;
    for (let index = from; index <= to; index++) {
      let element = shape.byIndex.get(index);
      if (element === undefined) {
        element = document.createElement('div');
        if (previous === undefined) shape.cells.prepend(element);
        else previous.after(element);
        shape.byIndex.set(index, element);
      }
      previous = element;
      const cell = cells.get(index);
      const compacted = cell === undefined && index <= row.snapshotIndex;
      const key = cellKey(cell, compacted);
      if (element.dataset.key !== key) draw(element, index, cell, compacted, key);
    }
  }
}

function draw(
  element: HTMLDivElement,
  index: number,
  cell: LogCell | undefined,
  compacted: boolean,
  key: string,
): void {
  element.dataset.key = key;
  element.dataset.index = String(index);
  if (cell !== undefined) {
    element.className = `cell ${cell.kind}${cell.committed ? ' committed' : ''}`;
    element.style.background = termColor(cell.term);
    element.textContent = String(cell.term);
    element.title = `#${index} term ${cell.term} ${cell.text}${cell.committed ? ' (committed)' : ''}`;
    element.dataset.term = String(cell.term);
    element.dataset.committed = String(cell.committed);
    return;
  }
  element.className = compacted ? 'cell compacted' : 'cell empty';
  element.style.background = compacted ? '' : 'transparent';
  element.textContent = compacted ? '▒' : '';
  element.title = compacted ? `#${index}: compacted into the snapshot` : '';
  delete element.dataset.term;
  delete element.dataset.committed;
}
