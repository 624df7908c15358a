import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
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
  browser: BrowserContext;
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

/** A browser with its own profile (cookies, storage) in a temporary directory, removed on close. */
export async function launchChromium(options: { viewport?: { width: number; height: number } } = {}): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'gatehouse-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    args: FLAGS,
    headless: true,
    viewport: options.viewport ?? { width: 1280, height: 900 },
    timezoneId: 'Europe/Paris',
    locale: 'en-GB',
  });
  return {
    browser: context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export type { Browser };
