/**
 * The controls above and below the cluster: play, step, speed, seed and size, propose, the fault and load
 * knobs, opening files, copying the link, forking. They call the app; each frame they show its state.
 */

import { DEFAULTS } from '../../../src/core/index.js';
import type { App, AppListener } from '../app/app.js';
import type { Source } from '../app/source.js';
import type { Knobs } from '../model/actions.js';
import { DEFAULT_KNOBS, type RunSetup } from '../model/sim-run.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

const KNOBS: readonly (keyof Knobs)[] = ['loss', 'duplicate', 'delay', 'load', 'compactEvery'];

function knobText(knob: keyof Knobs, value: number): string {
  switch (knob) {
    case 'loss':
    case 'duplicate':
      return `${Math.round(value * 100)}%`;
    case 'delay':
      return `${value}ms`;
    case 'load':
      return `${value}/s`;
    case 'compactEvery':
      return value === 0 ? 'off' : String(value);
  }
}

/**
 * The speed slider, 0..100, on a log scale: virtual ms per real second for a simulation (0.01× to 10×), events
 * per second for a trace (1 to 3,000).
 */
export function rateOf(slider: number, axis: 'time' | 'events'): number {
  return axis === 'time' ? 10 * 1000 ** (slider / 100) : 3000 ** (slider / 100);
}

function sliderOf(rate: number, axis: 'time' | 'events'): number {
  return axis === 'time'
    ? (100 * Math.log(rate / 10)) / Math.log(1000)
    : (100 * Math.log(rate)) / Math.log(3000);
}

/** The speed a new source starts at: a simulation at a third of real time, a trace at 20 events a second. */
export function defaultRate(axis: 'time' | 'events'): number {
  return axis === 'time' ? 300 : 20;
}

export function bindControls(app: App): AppListener {
  const speed = $<HTMLInputElement>('speed');
  const play = $<HTMLButtonElement>('play');
  const seed = $<HTMLInputElement>('seed');
  const nodes = $<HTMLSelectElement>('nodes');
  const inflight = $<HTMLInputElement>('inflight');
  const setup = (): RunSetup => ({
    seed: Number(seed.value) || 0,
    nodes: Number(nodes.value),
    knobs: currentKnobs(),
    ...(Number(inflight.value) !== DEFAULTS.maxInflightAppends && {
      inflight: Math.max(1, Number(inflight.value)),
    }),
  });
  const knob = (name: keyof Knobs) => $<HTMLInputElement>(name);
  const currentKnobs = (): Knobs =>
    Object.fromEntries(KNOBS.map((name) => [name, Number(knob(name).value)])) as unknown as Knobs;
  const showKnob = (name: keyof Knobs, value: number): void => {
    knob(name).value = String(value);
    (knob(name).nextElementSibling as HTMLOutputElement).value = knobText(name, value);
  };
  const axis = () => app.source.recording.axis;

  const togglePlay = (): void => {
    const player = app.player;
    if (app.source.kind === 'live') {
      player.follow = !player.follow;
      return;
    }
    // Playing from the end of a finished trace starts it over.
    if (!player.playing && app.source.recording.finished && !player.inPast) player.seekEvent(0);
    player.playing = !player.playing;
    if (!player.playing) app.saveLink(true);
  };
  play.addEventListener('click', togglePlay);
  $('step').addEventListener('click', () => app.player.step());
  speed.addEventListener('input', () => {
    app.player.rate = rateOf(Number(speed.value), axis());
  });
  $('new-run').addEventListener('click', () => void app.newRun(setup(), app.player.rate));
  seed.addEventListener('change', () => void app.newRun(setup(), app.player.rate));
  nodes.addEventListener('change', () => void app.newRun(setup(), app.player.rate));
  inflight.addEventListener('change', () => void app.newRun(setup(), app.player.rate));
  $('propose').addEventListener('click', () => void app.act({ type: 'propose' }));
  for (const name of KNOBS) {
    knob(name).addEventListener('input', () => showKnob(name, Number(knob(name).value)));
    knob(name).addEventListener(
      'change',
      () => void app.act({ type: 'knob', knob: name, value: Number(knob(name).value) }),
    );
  }
  $('fork').addEventListener('click', () => void app.fork());
  $('head').addEventListener('click', () => {
    app.player.seekEvent(app.source.recording.length - 1);
    if (app.source.kind === 'live') app.player.follow = true;
  });
  $('share').addEventListener('click', () => {
    app.saveLink(true);
    void navigator.clipboard?.writeText(location.href).catch(() => {});
  });
  $<HTMLInputElement>('open').addEventListener('change', async (event) => {
    const input = event.target as HTMLInputElement;
    const files = await Promise.all(
      [...(input.files ?? [])].map(async (file) => ({ name: file.name, text: await file.text() })),
    );
    input.value = '';
    try {
      await app.open(files, defaultRate('events'));
    } catch (error) {
      const banner = $('banner');
      banner.className = '';
      banner.textContent = `Could not open ${files.map((file) => file.name).join(', ')}: ${(error as Error).message}`;
      banner.hidden = false;
    }
  });
  document.addEventListener('keydown', (event) => {
    if ((event.target as Element).closest('input, select, textarea')) return;
    if (event.key === ' ') {
      event.preventDefault();
      togglePlay();
    } else if (event.key === 'ArrowRight') {
      app.player.step();
    } else if (event.key === 'ArrowLeft') {
      app.player.playing = false;
      app.player.seekEvent(app.player.event - 1);
    }
  });
  for (const name of KNOBS) showKnob(name, DEFAULT_KNOBS[name]);

  const clock = $('clock');
  const fork = $('fork');
  const head = $('head');
  const mode = $('mode');
  const source = $('source');
  return {
    sourceChanged(changed: Source): void {
      document.body.classList.toggle('trace', changed.kind !== 'simulation');
      mode.textContent = changed.kind;
      source.textContent = changed.title;
      speed.value = String(sliderOf(app.player.rate, changed.recording.axis));
      const run = changed.run;
      if (run !== undefined) {
        seed.value = String(run.setup.seed);
        nodes.value = String(run.setup.nodes);
        inflight.value = String(run.setup.inflight ?? DEFAULTS.maxInflightAppends);
        for (const name of KNOBS) showKnob(name, run.knobs[name]);
      }
    },
    drawn(): void {
      const { player, source: current } = app;
      const rate = player.rate;
      const speedText = axis() === 'time' ? `${(rate / 1000).toFixed(2)}×` : `${Math.round(rate)} ev/s`;
      $<HTMLOutputElement>('speed-out').value = speedText;
      const running = current.kind === 'live' ? player.follow : player.playing;
      const label = running ? '❚❚ Pause' : '▶ Play';
      if (play.textContent !== label) play.textContent = label;
      const time = axis() === 'time' ? `${Math.round(player.at)} ms · ` : '';
      const live = app.liveStatus === undefined ? '' : ` · ${app.liveStatus}`;
      clock.textContent = `${time}event ${player.event} of ${current.recording.length}${live}`;
      fork.hidden = !(current.kind === 'simulation' && player.inPast);
      head.hidden = !player.inPast || player.playing || player.follow;
      const run = current.run;
      if (run !== undefined) $<HTMLButtonElement>('propose').disabled = run.leader === undefined;
    },
  };
}
