/**
 * The visualizer's entry: builds the app on the page, then starts what the address asks for: a live cluster
 * (`?live=<stream>`), a trace (`?trace=<url>`), a shared run (`#seed=...`), or a new run of seed 1.
 */
import { App } from './app/app.js';
import { fetchTraces } from './app/fetch-traces.js';
import { installHook } from './app/hook.js';
import { decodeLink, type RunLink } from './model/link.js';
import { DEFAULT_SETUP } from './model/sim-run.js';
import { drawLegend } from './render/legend.js';
import { bindControls, defaultRate } from './ui/controls.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

const app = new App({
  ring: document.getElementById('ring') as unknown as SVGSVGElement,
  flights: $('flights'),
  tooltip: $('tooltip'),
  menu: $('menu'),
  events: $('events'),
  logs: $('logs'),
  timeline: $('timeline'),
  banner: $('banner'),
  progress: $('progress'),
});
app.listen(bindControls(app));
drawLegend($('legend'));
installHook(app, () => app.idle());

async function begin(): Promise<void> {
  const query = new URLSearchParams(location.search);
  const live = query.get('live');
  const trace = query.get('trace');
  let link: RunLink | undefined;
  let problem: string | undefined;
  try {
    link = decodeLink(location.hash);
  } catch (error) {
    problem = `This link does not describe a run (${(error as Error).message}); here is a new one.`;
  }
  // Something to draw from the first frame on, whatever is loading.
  await app.simulate(link ?? { setup: DEFAULT_SETUP, tape: [] }, defaultRate('time'));
  if (problem !== undefined) showProblem(problem);
  app.start();
  if (live !== null) {
    app.live(live, defaultRate('events'));
  } else if (trace !== null) {
    await app.open(await fetchTraces(trace.split(',')), defaultRate('events'));
  }
}

function showProblem(text: string): void {
  const banner = $('banner');
  banner.textContent = text;
  banner.hidden = false;
}

void begin();
