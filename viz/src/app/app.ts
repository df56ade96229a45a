/**
 * The page: one source of events (a simulation, a trace, a live cluster), a cursor over its recording, and
 * the views that draw the recording at the cursor, once per animation frame. Everything a person does comes
 * through here: actions on a simulation (forking it first when the cursor is in the past), new runs, files.
 */
import { formatMessage } from '../../../properties/format.js';
import type { NodeId } from '../../../src/core/index.js';
import { LiveFeed } from '../live/feed.js';
import type { UserAction } from '../model/actions.js';
import { encodeLink, type RunLink } from '../model/link.js';
import { TraceMerger } from '../model/node-traces.js';
import { recognize } from '../model/open.js';
import { playPropertyTrace } from '../model/property-trace.js';
import type { AxisKind, Flight } from '../model/recording.js';
import { type RunSetup, replayRun } from '../model/sim-run.js';
import { playTraceFiles, type TraceText } from '../model/trace-lines.js';
import { type View, viewAt } from '../model/view.js';
import { EventsView } from '../render/events.js';
import { FlightsView } from '../render/flights.js';
import { LogsView } from '../render/logs.js';
import { RingView } from '../render/ring.js';
import { TimelineView } from '../render/timeline.js';
import { NodeMenu } from '../ui/menu.js';
import { FrameStats } from './frame-stats.js';
import { Player } from './player.js';
import { runInSlices } from './slices.js';
import { recordedSource, type Source, simulationSource } from './source.js';

export interface Elements {
  readonly ring: SVGSVGElement;
  readonly flights: HTMLCanvasElement;
  readonly tooltip: HTMLElement;
  readonly menu: HTMLElement;
  readonly events: HTMLOListElement;
  readonly logs: HTMLElement;
  readonly timeline: HTMLCanvasElement;
  readonly banner: HTMLElement;
  readonly progress: HTMLElement;
}

/** Listeners for what the controls show. */
export interface AppListener {
  /** A new source: the controls show its mode and its knobs. */
  sourceChanged(source: Source): void;
  /** After every frame drawn. */
  drawn(app: App): void;
}

export class App {
  source!: Source;
  player!: Player;
  readonly stats = new FrameStats();
  #view: View | undefined;
  #ids: readonly NodeId[] = [];
  #live: LiveFeed | undefined;
  /** Bumped by every new source, so that a load that was overtaken by another stops. */
  #generation = 0;
  readonly #ring: RingView;
  readonly #flights: FlightsView;
  readonly #logs: LogsView;
  readonly #timeline: TimelineView;
  readonly #events: EventsView;
  readonly #menu: NodeMenu;
  readonly #listeners: AppListener[] = [];
  #lastFrame = 0;
  #progressTitle = '';
  #busy: Promise<void> = Promise.resolve();

  constructor(readonly elements: Elements) {
    this.#ring = new RingView(elements.ring, {
      node: (id, at) => {
        if (this.source.kind !== 'simulation') return;
        const point = this.#flights.toCss(at);
        this.#menu.open(id, point.x, point.y);
      },
      link: (link) => this.act({ type: link.state === 'up' ? 'cut' : 'heal', a: link.a, b: link.b }),
    });
    this.#flights = new FlightsView(elements.flights);
    this.#logs = new LogsView(elements.logs);
    this.#timeline = new TimelineView(elements.timeline, (at) => {
      this.player.playing = false;
      this.player.follow = false;
      this.player.seekAt(at);
    });
    this.#events = new EventsView(elements.events, (event) => {
      this.player.playing = false;
      this.player.follow = false;
      this.player.seekEvent(event);
    });
    this.#menu = new NodeMenu(
      elements.menu,
      (action) => this.act(action),
      (action) => this.source.run?.canApply(action) ?? false,
    );
    elements.ring.parentElement!.addEventListener('pointermove', (event) => this.#hover(event));
    // The stage changes size with the window and with what the panels around it hold.
    new ResizeObserver(() => this.#resize()).observe(elements.flights);
    new ResizeObserver(() => this.#resize()).observe(elements.timeline);
  }

  listen(listener: AppListener): void {
    this.#listeners.push(listener);
  }

  get view(): View | undefined {
    return this.#view;
  }

  start(): void {
    this.#resize();
    const frame = (now: number): void => {
      const interval = this.#lastFrame === 0 ? 16 : now - this.#lastFrame;
      // After a long pause (a hidden tab), the cursor moves on by one frame's worth, not by the whole pause.
      const elapsed = Math.min(100, interval);
      this.#lastFrame = now;
      const began = performance.now();
      this.#live?.pump();
      this.player.tick(elapsed);
      const drawing = performance.now();
      this.draw();
      const done = performance.now();
      this.stats.record(interval, done - began, done - drawing, this.#view?.flights.length ?? 0);
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }

  // ---- sources --------------------------------------------------------------------------------------------

  #use(source: Source, rate: number): void {
    this.#live?.close();
    this.#live = undefined;
    this.source = source;
    this.player = new Player(source);
    this.player.rate = rate;
    this.#ids = [];
    this.#timeline.reset(source.recording);
    this.elements.banner.hidden = true;
    this.#menu.close();
    for (const listener of this.#listeners) listener.sourceChanged(source);
  }

  /** A simulation of `setup`, replaying `tape` to `at` (a shared link, a fork); paused there if it was replayed. */
  async simulate(link: RunLink, rate: number): Promise<void> {
    const generation = ++this.#generation;
    const job = replayRun(link.setup, link.tape, link.at);
    const run = await this.#withProgress(
      'Replaying the run…',
      runInSlices(job, (items) => this.#progress(items, 'items')),
    );
    if (generation !== this.#generation) return;
    this.#use(simulationSource(run, `seed ${link.setup.seed}, ${link.setup.nodes} nodes`), rate);
    this.player.seekEvent(run.recording.length - 1);
    this.player.playing = link.tape.length === 0 && link.at === undefined;
  }

  newRun(setup: RunSetup, rate: number): Promise<void> {
    const done = this.simulate({ setup, tape: [] }, rate);
    void done.then(() => this.saveLink(false));
    return done;
  }

  /** Does `action` on the simulation; from a moment in the past, on a new run forked there. */
  async act(action: UserAction): Promise<void> {
    if (this.source.run === undefined) return;
    if (this.player.inPast) await this.fork();
    const run = this.source.run;
    if (!run.canApply(action)) return;
    run.apply(action);
    if (!this.player.playing) this.player.seekEvent(run.recording.length - 1);
    this.saveLink(false);
  }

  /** Continues a new run from the cursor: the same setup and the tape up to here, replayed. */
  async fork(): Promise<void> {
    const run = this.source.run;
    if (run === undefined) return;
    const { tape, until } = run.prefix(this.player.event);
    await this.simulate({ setup: run.setup, tape, at: until }, this.player.rate);
    this.saveLink(false);
  }

  async open(files: readonly TraceText[], rate: number): Promise<void> {
    const generation = ++this.#generation;
    const opened = recognize(files);
    if (opened.kind === 'property') {
      const { trace } = opened;
      const player = playPropertyTrace(trace);
      const against = trace.mutant === undefined ? 'the real core' : `mutant ${trace.mutant}`;
      this.#use(
        recordedSource(
          'trace',
          player.recording,
          `${opened.name}: ${trace.property}, ${trace.size} nodes, ${trace.actions.length} actions, ${against}`,
        ),
        rate,
      );
      const reproduced = await this.#withProgress(
        'Playing the trace…',
        runInSlices(player.job, (share) => this.#progress(share)),
      );
      if (generation !== this.#generation) return;
      this.#showVerdict(reproduced, trace.violation.message);
      return;
    }
    const merger = new TraceMerger();
    const names = opened.files.map((file) => file.name).join(', ');
    this.#use(
      recordedSource('trace', merger.recording, `${opened.files.length} node trace(s): ${names}`),
      rate,
    );
    const torn = await this.#withProgress(
      'Playing the traces…',
      runInSlices(playTraceFiles(merger, opened.files), (share) => this.#progress(share)),
    );
    if (generation !== this.#generation) return;
    this.player.seekEvent(merger.recording.length - 1);
    this.#showVerdict(
      undefined,
      torn.length > 0 ? `last line cut short (left out) in ${torn.join(', ')}` : '',
    );
  }

  /** Live mode: a running cluster's traces streamed from `url`. */
  live(url: string, rate: number): void {
    ++this.#generation;
    const feed = new LiveFeed();
    this.#use(recordedSource('live', feed.merger.recording, 'a running cluster'), rate);
    this.#live = feed;
    feed.connect(url);
    this.player.follow = true;
  }

  get liveStatus(): string | undefined {
    return this.#live?.status;
  }

  // ---- drawing --------------------------------------------------------------------------------------------

  draw(): void {
    const recording = this.source.recording;
    if (recording.ids.length !== this.#ids.length) {
      this.#ids = [...recording.ids];
      this.#ring.reset(this.#ids);
      this.#logs.reset(this.#ids);
    }
    const view = viewAt(recording, this.player.event, this.player.at);
    this.#view = view;
    const violation = recording.violation;
    const broken =
      violation !== undefined && this.player.event >= violation.event
        ? (recording.events[violation.event]?.node ?? null)
        : null;
    this.#ring.update(view, broken);
    this.#flights.draw(view.flights, this.#ring.layout);
    this.#logs.update(view);
    if (recording.length > 0) {
      this.#events.update(recording, this.player.event, this.player.playing || this.player.follow);
    }
    this.#timeline.draw(this.player.at);
    for (const listener of this.#listeners) listener.drawn(this);
  }

  /** Where a node is drawn, in page coordinates. */
  nodeCenter(id: NodeId): { x: number; y: number } | undefined {
    const at = this.#ring.layout.get(id);
    if (at === undefined) return undefined;
    const point = this.#flights.toCss(at);
    const box = this.elements.flights.getBoundingClientRect();
    return { x: box.left + point.x, y: box.top + point.y };
  }

  dots(): { x: number; y: number; type: string }[] {
    const box = this.elements.flights.getBoundingClientRect();
    return this.#flights.drawnAt().map((dot) => ({ ...dot, x: box.left + dot.x, y: box.top + dot.y }));
  }

  #resize(): void {
    this.#flights.resize();
    this.#timeline.resize();
  }

  #hover(event: PointerEvent): void {
    const box = this.elements.flights.getBoundingClientRect();
    const flight = this.#flights.hit(event.clientX - box.left, event.clientY - box.top);
    const tooltip = this.elements.tooltip;
    if (flight === undefined) {
      tooltip.hidden = true;
      return;
    }
    tooltip.textContent = describeFlight(flight.flight, this.source.recording.axis);
    tooltip.style.left = `${event.clientX - box.left + 14}px`;
    tooltip.style.top = `${event.clientY - box.top + 14}px`;
    tooltip.hidden = false;
  }

  // ---- the banner, the progress bar and the link -----------------------------------------------------------

  #showVerdict(reproduced: boolean | undefined, note: string): void {
    const recording = this.source.recording;
    const banner = this.elements.banner;
    const violation = recording.violation;
    banner.replaceChildren();
    banner.className = violation === undefined ? 'ok' : '';
    if (violation !== undefined) {
      const strong = document.createElement('strong');
      strong.textContent = `Broken: ${violation.property}`;
      const go = document.createElement('button');
      go.textContent = `Go to event #${violation.event}`;
      go.addEventListener('click', () => this.player.seekEvent(violation.event));
      const detail = document.createElement('span');
      const recorded =
        reproduced === false
          ? ` — the trace recorded instead: ${note}`
          : reproduced
            ? ' (as the trace recorded)'
            : '';
      detail.textContent = ` — ${violation.message}${recorded} `;
      banner.dataset.property = violation.property;
      banner.append(strong, detail, go);
      this.player.seekEvent(violation.event);
    } else {
      delete banner.dataset.property;
      banner.textContent = `No property broken in this run.${note === '' ? '' : ` Note: ${note}`}`;
    }
    banner.hidden = false;
  }

  /** Resolves once the last long job (a replay, a trace) is over. */
  idle(): Promise<void> {
    return this.#busy;
  }

  async #withProgress<T>(title: string, work: Promise<T>): Promise<T> {
    this.#busy = work.then(
      () => {},
      () => {},
    );
    const progress = this.elements.progress;
    this.#progressTitle = title;
    progress.querySelector('span')!.textContent = title;
    (progress.querySelector('.bar') as HTMLElement).style.width = '0';
    const timer = setTimeout(() => {
      progress.hidden = false;
    }, 150);
    try {
      return await work;
    } finally {
      clearTimeout(timer);
      progress.hidden = true;
    }
  }

  /** `done`: a share from 0 to 1, or a count of items when the total is not known. */
  #progress(done: number, total?: string): void {
    const progress = this.elements.progress;
    const text = total === undefined ? `${Math.round(done * 100)}%` : `${done} ${total}`;
    if (total === undefined) (progress.querySelector('.bar') as HTMLElement).style.width = text;
    progress.querySelector('span')!.textContent = `${this.#progressTitle} ${text}`;
  }

  /** Puts the run (and, with `withCursor`, the moment shown) in the URL, so that the address is a link to it. */
  saveLink(withCursor: boolean): void {
    const run = this.source.run;
    if (run === undefined) return;
    const at = withCursor ? run.prefix(this.player.event).until : undefined;
    const link = encodeLink({ setup: run.setup, tape: run.tape, ...(at && { at }) });
    history.replaceState(null, '', `#${link}`);
  }
}

function describeFlight(flight: Flight<unknown>, axis: AxisKind): string {
  const when = axis === 'time' ? `sent at ${Math.round(flight.start)} ms` : `sent by event #${flight.sentBy}`;
  return `${formatMessage(flight.message)}\n${when}, ${flight.fate}`;
}
