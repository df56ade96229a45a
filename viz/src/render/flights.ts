/**
 * Messages in the air, on a canvas over the ring: a dot per message on its way from sender to receiver,
 * coloured by type (requests filled, responses hollow; an AppendEntries grows with the entries it carries),
 * a lost one fading out with a cross. Hundreds of them each frame, so canvas rather than DOM; hovering finds
 * the dot under the pointer among those drawn last.
 */
import type { NodeId } from '../../../src/core/index.js';
import type { FlightView } from '../model/view.js';
import { MESSAGE_COLORS } from './palette.js';
import { NODE_RADIUS, type Point } from './ring.js';

/** The ring's viewBox: the canvas maps it the way the SVG does (centred, scaled to fit). */
const VIEW = { x: -320, y: -300, width: 640, height: 600 };
/** Pixels to the right of the line of travel, so that requests and their responses pass each other. */
const LANE = 7;

interface Drawn {
  readonly x: number;
  readonly y: number;
  readonly flight: FlightView;
}

function radiusOf(flight: FlightView): number {
  const message = flight.message;
  switch (message.type) {
    case 'AppendEntries':
      return message.entries.length === 0 ? 4 : Math.min(10, 6 + message.entries.length);
    case 'InstallSnapshot':
      return 9;
    default:
      return 5.5;
  }
}

export class FlightsView {
  readonly #canvas: HTMLCanvasElement;
  readonly #context: CanvasRenderingContext2D;
  #drawn: Drawn[] = [];
  #scale = 1;
  #offset = { x: 0, y: 0 };

  constructor(canvas: HTMLCanvasElement) {
    this.#canvas = canvas;
    this.#context = canvas.getContext('2d')!;
  }

  /** Matches the canvas to its box (call when the page's size changes). */
  resize(): void {
    const ratio = window.devicePixelRatio || 1;
    const { width, height } = this.#canvas.getBoundingClientRect();
    this.#canvas.width = Math.round(width * ratio);
    this.#canvas.height = Math.round(height * ratio);
    this.#scale = Math.min(width / VIEW.width, height / VIEW.height) * ratio;
    this.#offset = {
      x: (this.#canvas.width - VIEW.width * this.#scale) / 2 - VIEW.x * this.#scale,
      y: (this.#canvas.height - VIEW.height * this.#scale) / 2 - VIEW.y * this.#scale,
    };
  }

  /** A point of the ring's coordinates in the page's CSS pixels, relative to the canvas. */
  toCss(point: Point): Point {
    const ratio = window.devicePixelRatio || 1;
    return {
      x: (point.x * this.#scale + this.#offset.x) / ratio,
      y: (point.y * this.#scale + this.#offset.y) / ratio,
    };
  }

  draw(flights: readonly FlightView[], layout: ReadonlyMap<NodeId, Point>): void {
    const context = this.#context;
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.clearRect(0, 0, this.#canvas.width, this.#canvas.height);
    context.setTransform(this.#scale, 0, 0, this.#scale, this.#offset.x, this.#offset.y);
    const drawn: Drawn[] = [];
    for (const flight of flights) {
      const from = layout.get(flight.message.from);
      const to = layout.get(flight.message.to);
      if (from === undefined || to === undefined) continue;
      const dx = to.x - from.x;
      const dy = to.y - from.y;
      const length = Math.hypot(dx, dy) || 1;
      const [ux, uy] = [dx / length, dy / length];
      const travel = NODE_RADIUS + (length - 2 * NODE_RADIUS) * flight.progress;
      const x = from.x + ux * travel - uy * LANE;
      const y = from.y + uy * travel + ux * LANE;
      this.#dot(flight, x, y);
      drawn.push({ x, y, flight });
    }
    this.#drawn = drawn;
  }

  #dot(flight: FlightView, x: number, y: number): void {
    const context = this.#context;
    const color = MESSAGE_COLORS[flight.message.type];
    const radius = radiusOf(flight);
    const lost = flight.fate === 'lost';
    context.globalAlpha = lost ? Math.max(0.15, 1 - flight.progress) : 1;
    context.beginPath();
    context.arc(x, y, radius, 0, 2 * Math.PI);
    if (flight.message.type.endsWith('Response')) {
      context.lineWidth = 2.5;
      context.strokeStyle = color;
      context.stroke();
    } else {
      context.fillStyle = color;
      context.fill();
    }
    if (lost) {
      context.beginPath();
      context.moveTo(x - 6, y - 6);
      context.lineTo(x + 6, y + 6);
      context.moveTo(x + 6, y - 6);
      context.lineTo(x - 6, y + 6);
      context.lineWidth = 2;
      context.strokeStyle = '#ef5350';
      context.stroke();
    }
    context.globalAlpha = 1;
  }

  /** The message drawn nearest to a point of the page (CSS pixels relative to the canvas), if one is close. */
  hit(cssX: number, cssY: number): FlightView | undefined {
    const ratio = window.devicePixelRatio || 1;
    const x = (cssX * ratio - this.#offset.x) / this.#scale;
    const y = (cssY * ratio - this.#offset.y) / this.#scale;
    let best: Drawn | undefined;
    let bestDistance = 12;
    for (const drawn of this.#drawn) {
      const distance = Math.hypot(drawn.x - x, drawn.y - y);
      if (distance < bestDistance) {
        best = drawn;
        bestDistance = distance;
      }
    }
    return best?.flight;
  }

  /** Where the dots were drawn last, in CSS pixels (for the tests: something to hover). */
  drawnAt(): { x: number; y: number; type: string }[] {
    return this.#drawn.map((drawn) => ({ ...this.toCss(drawn), type: drawn.flight.message.type }));
  }
}
