/**
 * A real browser for the visualizer's tests and its performance script: Debian's chromium, driven by
 * playwright-core (which downloads no browser of its own). When /usr/bin/chromium is missing, it installs the
 * Debian package (as root, through apt-get); when that is impossible, `findChromium` says why, and the tests
 * skip with that reason.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Flags for a headless chromium on a machine with no GPU and no network but loopback. (playwright adds
 * --headless, and starts every browser with a new, empty profile directory of its own.)
 */
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Frames keep coming in a page that is not in front, so that frame-rate measurements mean something.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

function tryInstall(): string | undefined {
  if (process.platform !== 'linux') return `no chromium at ${CHROMIUM}, and installing it needs Debian`;
  if (process.getuid?.() !== 0)
    return `no chromium at ${CHROMIUM}; install it with: sudo apt-get install -y chromium`;
  try {
    const quiet = {
      stdio: 'ignore' as const,
      timeout: 600_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    };
    execFileSync('apt-get', ['update'], quiet);
    execFileSync('apt-get', ['install', '-y', 'chromium'], quiet);
  } catch (error) {
    return `no chromium at ${CHROMIUM}, and apt-get install chromium failed: ${(error as Error).message}`;
  }
  return existsSync(CHROMIUM) ? undefined : `apt-get installed chromium, but not at ${CHROMIUM}`;
}

let found: { path?: string; reason?: string } | undefined;

/** The browser's path, installing it first if needed; or why there is none. */
export function findChromium(): { path?: string; reason?: string } {
  found ??= existsSync(CHROMIUM)
    ? { path: CHROMIUM }
    : (() => {
        const reason = tryInstall();
        return reason === undefined ? { path: CHROMIUM } : { reason };
      })();
  return found;
}

export function launch(path: string): Promise<Browser> {
  return chromium.launch({ executablePath: path, args: FLAGS, headless: true, timeout: 60_000 });
}
