/**
 * The cluster as a ring, in SVG: each node a circle coloured by its role, with its term, vote and commit
 * index, and its timers as arcs that drain until they fire; a line for every link, dashed where it is cut.
 * Nodes and links are DOM elements (a handful), so that they can be clicked, and read by the browser tests.
 */
import type { NodeId } from '../../../src/core/index.js';
import type { LinkView, NodeView, View } from '../model/view.js';
import { ROLE_COLORS, TIMER_COLORS } from './palette.js';

const SVG = 'http://www.w3.org/2000/svg';
export const NODE_RADIUS = 46;
const TIMER_RADII = [54, 61, 67];

export interface Point {
  readonly x: number;
  readonly y: number;
}

/** Where each node sits, in the SVG's coordinates (the viewBox is centred on 0, 0). */
export function ringLayout(ids: readonly NodeId[]): Map<NodeId, Point> {
  const radius = ids.length <= 2 ? 150 : 215;
  return new Map(
    ids.map((id, i) => {
      const angle = -Math.PI / 2 + (2 * Math.PI * i) / ids.length;
      return [id, { x: Math.round(radius * Math.cos(angle)), y: Math.round(radius * Math.sin(angle)) }];
    }),
  );
}

function element<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number>,
  parent?: Element,
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  parent?.appendChild(node);
  return node;
}

/** Sets an attribute only when it changes: most of the picture stays the same from frame to frame. */
function set(node: Element, name: string, value: string): void {
  if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}

function text(node: Element, value: string): void {
  if (node.textContent !== value) node.textContent = value;
}

interface NodeShape {
  readonly group: SVGGElement;
  readonly body: SVGCircleElement;
  readonly arcs: SVGCircleElement[];
  readonly lines: SVGTextElement[];
  readonly cross: SVGPathElement;
}

export interface RingHandlers {
  readonly node: (id: NodeId, at: Point) => void;
  readonly link: (link: LinkView) => void;
}

export class RingView {
  readonly #svg: SVGSVGElement;
  readonly #nodes = new Map<NodeId, NodeShape>();
  readonly #links = new Map<string, { line: SVGLineElement; hit: SVGLineElement; view: LinkView }>();
  layout = new Map<NodeId, Point>();

  constructor(svg: SVGSVGElement, handlers: RingHandlers) {
    this.#svg = svg;
    svg.addEventListener('click', (event) => {
      const target = event.target as Element;
      const node = target.closest('[data-node]')?.getAttribute('data-node');
      if (node) {
        handlers.node(node, this.layout.get(node)!);
        return;
      }
      const link = target.closest('[data-link]')?.getAttribute('data-link');
      const found = link ? this.#links.get(link) : undefined;
      if (found) handlers.link(found.view);
    });
  }

  /** Lays out the nodes again (a new run, another trace). */
  reset(ids: readonly NodeId[]): void {
    this.#svg.replaceChildren();
    this.#nodes.clear();
    this.#links.clear();
    this.layout = ringLayout(ids);
    const links = element('g', {}, this.#svg);
    ids.forEach((a, i) => {
      for (const b of ids.slice(i + 1)) {
        const [p, q] = [this.layout.get(a)!, this.layout.get(b)!];
        const ends = { x1: p.x, y1: p.y, x2: q.x, y2: q.y };
        const line = element('line', { ...ends, stroke: '#2a3440', 'stroke-width': 2 }, links);
        const hit = element('line', { ...ends, stroke: 'transparent', 'stroke-width': 16 }, links);
        hit.classList.add('link');
        hit.setAttribute('data-link', `${a}|${b}`);
        const title = element('title', {}, hit);
        title.textContent = `link ${a}–${b}: click to cut or heal`;
        this.#links.set(`${a}|${b}`, { line, hit, view: { a, b, state: 'up' } });
      }
    });
    for (const id of ids) this.#nodes.set(id, this.#nodeShape(id, this.layout.get(id)!));
  }

  #nodeShape(id: NodeId, at: Point): NodeShape {
    const group = element('g', { transform: `translate(${at.x} ${at.y})`, 'data-node': id });
    group.classList.add('node');
    const arcs = TIMER_RADII.map((r) =>
      element(
        'circle',
        { r, fill: 'none', 'stroke-width': r === TIMER_RADII[0] ? 5 : 3, transform: 'rotate(-90)' },
        group,
      ),
    );
    const body = element('circle', { r: NODE_RADIUS, 'stroke-width': 2, stroke: '#90a4ae' }, group);
    body.classList.add('body');
    // Under the text, so that a crashed node's lines stay readable.
    const cross = element(
      'path',
      { d: 'M-30,-30L30,30M30,-30L-30,30', stroke: '#ef5350', 'stroke-width': 5, opacity: 0 },
      group,
    );
    const lines = [-23, -9, 5, 18, 31].map((y, i) => {
      const line = element('text', { y }, group);
      if (i > 0) line.classList.add('sub');
      return line;
    });
    lines[0]!.setAttribute('font-weight', 'bold');
    this.#svg.appendChild(group);
    return { group, body, arcs, lines, cross };
  }

  update(view: View, broken: NodeId | null): void {
    for (const link of view.links) {
      const shape = this.#links.get(`${link.a}|${link.b}`);
      if (shape === undefined) continue;
      shape.view = link;
      set(
        shape.line,
        'stroke',
        link.state === 'up' ? '#2a3440' : link.state === 'half' ? '#ffa726' : '#ef5350',
      );
      set(shape.line, 'stroke-dasharray', link.state === 'up' ? '' : '8 6');
    }
    for (const node of view.nodes) {
      const shape = this.#nodes.get(node.id);
      if (shape !== undefined) this.#updateNode(shape, node, node.id === broken);
    }
  }

  #updateNode(shape: NodeShape, node: NodeView, broken: boolean): void {
    const { group, body, arcs, lines, cross } = shape;
    const up = node.role !== 'down' && node.role !== 'unknown';
    set(group, 'data-role', node.role);
    set(group, 'data-term', String(node.term));
    set(group, 'data-commit', String(node.commitIndex));
    set(group, 'data-last', String(node.lastIndex));
    set(group, 'data-voted', node.votedFor ?? '');
    set(group, 'class', broken ? 'node broken-node' : 'node');
    set(body, 'fill', ROLE_COLORS[node.role]);
    set(body, 'stroke', node.role === 'leader' ? '#90caf9' : '#90a4ae');
    set(body, 'stroke-dasharray', node.role === 'unknown' ? '4 4' : '');
    set(cross, 'opacity', node.role === 'down' ? '0.45' : '0');
    text(lines[0]!, node.id);
    text(lines[1]!, node.role === 'precandidate' ? 'pre-candidate' : node.role);
    text(lines[2]!, up ? `term ${node.term}` : node.role === 'down' ? `incarnation ${node.incarnation}` : '');
    text(lines[3]!, up && node.votedFor !== null ? `vote ${node.votedFor}` : '');
    text(lines[4]!, up ? `commit ${node.commitIndex}` : '');
    arcs.forEach((arc, i) => {
      const timer = node.timers[i];
      const length = 2 * Math.PI * Number(arc.getAttribute('r'));
      if (timer === undefined) {
        set(arc, 'stroke-opacity', '0');
        return;
      }
      set(arc, 'stroke-opacity', '1');
      set(arc, 'stroke', TIMER_COLORS[timer.name] ?? '#90a4ae');
      set(arc, 'stroke-dasharray', `${(timer.remaining * length).toFixed(1)} ${length.toFixed(1)}`);
      set(arc, 'data-timer', timer.name);
    });
  }
}
