import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { ensureWebBuilt } from '../../web/ensure-built.ts';
import { chromiumPath } from '../support/chromium.ts';
import { startAuthHarness, PASSWORD, type AuthHarness } from '../support/oauth.ts';
import { openNav, signIn } from '../support/web-console.ts';

/**
 * After "Sign out", the browser's Back button must not bring the signed-in page back as it was, with
 * the data and a secret shown once still on it: a person on a shared computer signs out, the next one
 * presses Back. The page is only kept whole in the back/forward cache when its document may be stored
 * (index.html served `no-cache`); `no-store` keeps it out, so Back loads it again and finds no session.
 * Chromium is launched with its back/forward cache on, as a person's browser has it (playwright turns
 * it off by default).
 */
describe('Back after sign-out', () => {
  let h: AuthHarness;
  let browser: Browser;
  before(async () => {
    await ensureWebBuilt();
    h = await startAuthHarness();
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-sync'],
      ignoreDefaultArgs: ['--disable-back-forward-cache'],
      headless: true,
    });
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  test('the signed-in page with an invitation link shown once does not come back from the back/forward cache', async () => {
    const base = h.gh.controlUrl.replace(/\/$/, '');
    const res = await h.admin('POST', '/users', { username: 'op@example.com', name: 'Op', password: PASSWORD, consoleRole: 'operator' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const page = await (await browser.newContext()).newPage();
    await signIn(page, base, 'op@example.com');
    await openNav(page, 'Developers');
    await page.getByLabel('E-mail address').fill('invited@dev.example');
    await page.getByRole('button', { name: 'Invite', exact: true }).click();
    const link = ((await page.getByTestId('secret').textContent()) ?? '').trim();
    assert.match(link, /invite=/);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('link', { name: 'Sign in' }).waitFor();
    assert.equal((await page.context().request.get(`${base}/bff/session`)).status(), 401, 'signed out');

    // A page restored from the back/forward cache fires no load event: wait for the navigation to commit only.
    await page.goBack({ waitUntil: 'commit' });
    // Whatever Back shows, give the page time to settle: a reloaded page asks /bff/session and shows "Sign in".
    await page.waitForTimeout(1500);
    const body = await page.locator('body').innerText();
    assert.ok(!body.includes(link), 'the invitation link shown once is not on the page again after sign-out');
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0, 'no signed-in page after sign-out');
  });
});
