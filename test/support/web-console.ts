import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { currentTotp } from '../../src/domain/totp.ts';
import { ensureWebBuilt } from '../../web/ensure-built.ts';
import { launchChromium, type TestBrowser } from './chromium.ts';
import { PASSWORD, startAuthHarness, type AuthHarness } from './oauth.ts';

/**
 * The web app end to end: a real Gatehouse (authorization server on, wall clock) serving the built
 * SPA on its control listener, and headless Chromium driving it as a person would.
 */
export interface BrowserConsole extends AuthHarness {
  /** The control plane's origin: the console is at `${base}/console/`. */
  base: string;
  chromium: TestBrowser;
  /** A new page in a fresh browser context of its own (its own cookies): one person. */
  person(): Promise<Page>;
  /** Creates a user with a console role, returns their name. */
  consoleUser(consoleRole: 'admin' | 'operator' | 'auditor' | 'developer', extra?: Record<string, unknown>): Promise<{ id: string; username: string }>;
}

/**
 * Where screenshots go: docs/screenshots/ with GATEHOUSE_SCREENSHOTS=docs (`npm run screenshots`,
 * to refresh the README's pictures), else a temporary directory, so that a test run leaves the
 * checkout unchanged.
 */
export const SCREENSHOTS =
  process.env.GATEHOUSE_SCREENSHOTS === 'docs' ? fileURLToPath(new URL('../../docs/screenshots/', import.meta.url)) : join(tmpdir(), 'gatehouse-screenshots');

export async function startBrowserConsole(env: Record<string, string> = {}, configYaml?: string): Promise<BrowserConsole> {
  await ensureWebBuilt();
  const h = await startAuthHarness(env, configYaml);
  let chromium: TestBrowser;
  try {
    chromium = await launchChromium();
  } catch (error) {
    await h.close();
    throw error;
  }
  const close = h.close.bind(h);
  let users = 0;
  return Object.assign(h, {
    base: h.gh.controlUrl.replace(/\/$/, ''),
    chromium,
    async person() {
      const context = await chromium.browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: 'Europe/Paris', locale: 'en-GB' });
      return reportTrouble(await context.newPage());
    },
    async consoleUser(consoleRole: string, extra: Record<string, unknown> = {}) {
      const username = `${consoleRole}${++users}@example.com`;
      const res = await h.admin('POST', '/users', { username, name: `${consoleRole} ${users}`, password: PASSWORD, consoleRole, ...extra });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return { id: res.body.id as string, username };
    },
    async close() {
      await chromium.close();
      await close();
    },
  });
}

/** A request slower than this is reported: a browser test's 30 s wait then shows what it waited on. */
const SLOW_REQUEST_MS = 5000;

/**
 * Writes to the test's output what went wrong in a page, as it happens: script errors, requests that
 * failed, answered 5xx or took over 5 s. A wait that times out then comes with its cause.
 */
function reportTrouble(page: Page): Page {
  const started = new Map<object, number>();
  const say = (what: string) => process.stdout.write(`browser trouble: ${what}\n`);
  page.on('pageerror', (error) => say(`script error on ${page.url()}: ${error.message}`));
  page.on('request', (request) => started.set(request, Date.now()));
  page.on('requestfailed', (request) => {
    started.delete(request);
    const reason = request.failure()?.errorText;
    // A navigation cancels the page's fetches still under way: the test moved on, nothing failed.
    if (reason !== 'net::ERR_ABORTED') say(`${request.method()} ${request.url()} failed: ${reason}`);
  });
  page.on('requestfinished', (request) => {
    const ms = Date.now() - (started.get(request) ?? Date.now());
    started.delete(request);
    if (ms > SLOW_REQUEST_MS) say(`${request.method()} ${request.url()} took ${ms} ms`);
  });
  page.on('response', (response) => {
    if (response.status() >= 500) say(`${response.request().method()} ${response.url()} answered ${response.status()}`);
  });
  return page;
}

/**
 * Signs in through the SPA's button, Gatehouse's sign-in page, and (when the user must use MFA)
 * TOTP enrolment with a code computed from the setup key the page shows. Returns the TOTP secret.
 */
export async function signIn(page: Page, base: string, username: string, path = '/console/'): Promise<string | null> {
  await page.goto(`${base}${path}`);
  await page.getByRole('link', { name: 'Sign in' }).click();
  await page.getByLabel('Email').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const face = `/${path.split('/')[1]}`;
  let secret: string | null = null;
  // Gatehouse's own pages come one after another (MFA enrolment, recovery codes, consent), then
  // the callback sends the browser back to the SPA.
  const deadline = Date.now() + 30_000;
  while (!new URL(page.url()).pathname.startsWith(face)) {
    assert.ok(Date.now() < deadline, `sign-in did not come back to ${face}: at ${page.url()}: ${await page.locator('body').innerText()}`);
    const setup = page.getByLabel('Setup key', { exact: true });
    const challenge = page.getByLabel('Code', { exact: true });
    if (await setup.isVisible()) {
      secret = ((await setup.textContent()) ?? '').replace(/\s/g, '');
      await page.getByLabel('Code from the app').fill(currentTotp(secret, Date.now()));
      await page.getByRole('button', { name: 'Turn on' }).click();
      await page.getByRole('button', { name: 'I have saved them' }).click();
    } else if (await challenge.isVisible()) {
      assert.fail('this helper signs in once per user: a second TOTP code in the same period would be refused as a replay');
    } else if (await page.getByRole('heading', { name: 'Allow access?' }).isVisible()) {
      await page.getByRole('button', { name: 'Continue' }).click();
    } else {
      await page.waitForTimeout(100);
    }
  }
  await page.locator('#main h1').waitFor();
  return secret;
}

/** axe-core on the page as it is: no serious or critical violation. */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    [],
    `${what}: accessibility violations`,
  );
}

/** Saves a screenshot of the page under docs/screenshots/. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

/** Goes to a page of the SPA by its link (client-side navigation), waiting for its heading. */
export async function openNav(page: Page, label: string, heading: string | RegExp = label): Promise<void> {
  await page
    .getByRole('navigation', { name: /Console|Portal/ })
    .getByRole('link', { name: label, exact: true })
    .click();
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}
