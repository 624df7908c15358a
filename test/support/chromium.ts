import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { aptInstall } from './servers.ts';

/**
 * Headless Chromium for the browser tests: Debian's `chromium` (installed with apt-get once when
 * missing and running as root, else a failure naming the package: never a skip), driven by
 * playwright-core, with a fresh profile directory per launch.
 */
const CHROMIUM = '/usr/bin/chromium';

export function chromiumPath(): string {
  const fromEnv = process.env.GATEHOUSE_TEST_CHROMIUM;
  if (fromEnv) return fromEnv;
  if (!existsSync(CHROMIUM)) aptInstall('chromium', 'the browser tests (test/browser/)');
  if (!existsSync(CHROMIUM)) throw new Error(`no ${CHROMIUM}: install Debian's chromium package (apt-get install chromium) or set GATEHOUSE_TEST_CHROMIUM`);
  return CHROMIUM;
}

export interface TestBrowser {
  browser: Browser;
  close(): Promise<void>;
}

// The flags the environment notes give for this kind of machine: no sandbox (root in a container),
// no GPU, nothing fetched in the background.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A browser with a fresh profile: playwright-core gives every launch its own temporary user-data-dir
 * (removed when it closes), and every context of it its own cookies and storage (one person each).
 */
export async function launchChromium(): Promise<TestBrowser> {
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: FLAGS, headless: true });
  return { browser, close: () => browser.close() };
}
