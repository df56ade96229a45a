/**
 * The menu that opens on a node of a simulation: crash or restart it, cut it off or let it back, fire its
 * election timer, hand it the leadership, make it snapshot. Only what makes sense right now is enabled.
 */
import type { NodeId } from '../../../src/core/index.js';
import { describeAction, type UserAction } from '../model/actions.js';

const NODE_ACTIONS = ['crash', 'restart', 'isolate', 'rejoin', 'timeout', 'transfer', 'snapshot'] as const;

const LABELS: Record<(typeof NODE_ACTIONS)[number], string> = {
  crash: 'Crash',
  restart: 'Restart',
  isolate: 'Partition (cut every link)',
  rejoin: 'Heal its links',
  timeout: 'Time out (election timer fires)',
  transfer: 'Transfer leadership here',
  snapshot: 'Snapshot & compact now',
};

export class NodeMenu {
  readonly #element: HTMLElement;

  constructor(
    element: HTMLElement,
    private readonly act: (action: UserAction) => void,
    private readonly allowed: (action: UserAction) => boolean,
  ) {
    this.#element = element;
    document.addEventListener('pointerdown', (event) => {
      if (
        !element.hidden &&
        !element.contains(event.target as Node) &&
        !(event.target as Element).closest?.('[data-node]')
      ) {
        this.close();
      }
    });
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') this.close();
    });
  }

  /** Opens the menu for `node` at a point of the stage (CSS pixels). */
  open(node: NodeId, x: number, y: number): void {
    const title = document.createElement('h3');
    title.textContent = node;
    const buttons = NODE_ACTIONS.map((type) => {
      const action: UserAction = { type, node };
      const button = document.createElement('button');
      button.textContent = LABELS[type];
      button.dataset.action = type;
      button.title = describeAction(action);
      button.disabled = !this.allowed(action);
      button.addEventListener('click', () => {
        this.close();
        this.act(action);
      });
      return button;
    });
    this.#element.replaceChildren(title, ...buttons);
    this.#element.style.left = `${x + 50}px`;
    this.#element.style.top = `${Math.max(0, y - 60)}px`;
    this.#element.hidden = false;
  }

  close(): void {
    this.#element.hidden = true;
  }
}
