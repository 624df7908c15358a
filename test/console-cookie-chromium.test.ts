import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { currentTotp } from '../src/domain/totp.ts';
import { startConsoleHarness } from './support/console.ts';
import { PASSWORD, type AuthHarness } from './support/oauth.ts';

const CHROMIUM = process.env.GATEHOUSE_CHROMIUM ?? '/usr/bin/chromium';

/**
 * The session cookie is Secure and the demo's control plane speaks plain HTTP on 127.0.0.1: Chromium
 * counts loopback as a secure context, so it keeps the cookie and sends it back. Checked in the real browser.
 */
describe('Chromium keeps the Secure __Host- session cookie over http://127.0.0.1', { skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, () => {
  let h: AuthHarness;
  let browser: Browser;
  before(async () => {
    h = await startConsoleHarness();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
    await h.close();
  });

  test('signing in through the pages leaves the cookie in the browser, sent with the web app’s fetches', async () => {
    const user = await h.user({ consoleRole: 'operator' });
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${h.issuer}/bff/login?returnTo=/console/`);
    await page.fill('input[name="username"]', user.username);
    await page.fill('input[name="password"]', PASSWORD);
    // The sign-in page's form posts with our Origin (its Referrer-Policy is same-origin: with no-referrer, Chromium sends `Origin: null`).
    await Promise.all([page.waitForURL(/\/interaction\/[^/]+\/mfa$/), page.click('button[type="submit"]')]);
    // Operators must pass a second factor (by default): TOTP set up with the key the page shows, a code from it.
    const secret = ((await page.getByLabel('Setup key', { exact: true }).textContent()) ?? '').replace(/\s/g, '');
    await page.getByLabel('Code from the app').fill(currentTotp(secret, h.clock.read()));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await Promise.all([page.waitForURL(`${h.issuer}/console/`), page.getByRole('button', { name: 'I have saved them' }).click()]);
    const cookie = (await context.cookies()).find((c) => c.name === '__Host-gatehouse-session');
    assert.ok(cookie, 'Chromium kept the session cookie');
    assert.equal(cookie.secure, true);
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(cookie.domain, '127.0.0.1');
    // What the web app does: fetch with the cookie, then a state change with the CSRF token.
    const answer = await page.evaluate(async () => {
      const me = (await (await fetch('/bff/session', { credentials: 'same-origin' })).json()) as { role: string; csrfToken: string };
      const created = await fetch('/admin/v1/apps', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken },
        body: JSON.stringify({ name: 'from Chromium' }),
      });
      const refused = await fetch('/admin/v1/apps', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'no token' }),
      });
      return {
        role: me.role,
        created: created.status,
        refused: refused.status,
        cookieVisible: (globalThis as unknown as { document: { cookie: string } }).document.cookie.includes('gatehouse-session'),
      };
    });
    assert.deepEqual(answer, { role: 'operator', created: 201, refused: 403, cookieVisible: false });
    await context.close();
  });
});
