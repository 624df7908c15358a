import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call } from '../support/harness.ts';
import { PASSWORD } from '../support/oauth.ts';
import { assertAccessible, openNav, screenshot, signIn, startBrowserConsole, type BrowserConsole } from '../support/web-console.ts';

const REFERENCE = JSON.stringify({
  openapi: '3.1.0',
  info: { title: 'Weather API', version: '1.0.0' },
  paths: { '/today': { get: { summary: 'Today’s forecast', responses: { '200': { description: 'The forecast' } } } } },
});

// The developer portal in headless Chromium: open sign-up, the catalogue with its reference, an app
// and a key of one's own, a call through the gateway, and the usage it made.
describe('developer portal in a browser', () => {
  let h: BrowserConsole;
  let apiId = '';
  before(async () => {
    h = await startBrowserConsole({}, 'portal:\n  signup: open\n');
    const api = await h.admin('POST', '/apis', {
      name: 'weather',
      listenPath: '/weather',
      upstreamUrl: h.upstream.url,
      portal: { listed: true, description: 'Forecasts for any place' },
    });
    assert.equal(api.status, 201, JSON.stringify(api.body));
    apiId = api.body.id;
    const attached = await fetch(`${h.gh.controlUrl}/admin/v1/apis/${apiId}/openapi`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${h.adminKey}`, 'content-type': 'application/json' },
      body: REFERENCE,
    });
    assert.ok(attached.ok, await attached.text());
  });
  after(() => h?.close());

  test('a developer signs up, reads the reference, creates an app and a key, calls the API and sees their usage', async () => {
    const page = await h.person();
    await page.goto(`${h.base}/developers/signup`);
    await page.getByRole('heading', { level: 1, name: 'Create a developer account' }).waitFor();
    await assertAccessible(page, 'sign-up');
    await page.getByLabel('Email').fill('dev@example.com');
    await page.getByLabel('Your name').fill('Dana Developer');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('Your account is ready.').waitFor();

    await signIn(page, h.base, 'dev@example.com', '/developers/');
    await page.getByRole('heading', { level: 1, name: 'API catalogue' }).waitFor();
    await page.getByRole('heading', { name: 'weather' }).waitFor();
    assert.ok(await page.getByText('Forecasts for any place').isVisible());
    assert.equal(
      await page.getByRole('navigation', { name: 'Faces' }).getByRole('link', { name: 'Console' }).count(),
      0,
      'a developer is not offered the console',
    );
    await assertAccessible(page, 'catalogue');
    await screenshot(page, 'portal-catalogue');

    // The reference renders the operator's document (Scalar, loaded only now).
    await page.getByRole('link', { name: 'Reference documentation' }).click();
    await page.getByRole('heading', { level: 1, name: 'weather reference' }).waitFor();
    await page.getByText('Today’s forecast').first().waitFor();

    // An app and a key of their own.
    await openNav(page, 'My apps');
    await page.getByLabel('App name').fill('Weather widget');
    await page.getByRole('button', { name: 'Create app' }).click();
    await page.getByRole('link', { name: 'Weather widget' }).click();
    await page.getByRole('heading', { level: 1, name: 'App Weather widget' }).waitFor();
    await page.getByLabel('Key name').fill('widget');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = ((await page.getByTestId('secret').textContent()) ?? '').trim();
    assert.match(secret, /^gk_(live|test)_/);
    await assertAccessible(page, 'app with a new key');
    await screenshot(page, 'portal-new-key');

    for (let i = 0; i < 2; i++) assert.equal((await call(h, '/weather/today', { key: secret })).status, 200);

    await page.getByRole('link', { name: 'widget' }).click();
    await page.getByRole('heading', { level: 1, name: 'Key usage' }).waitFor();
    for (let tries = 0; !(await page.getByTestId('portal-usage-total').filter({ hasText: 'Requests so far: 2' }).isVisible()); tries++) {
      assert.ok(tries < 20, `usage: ${await page.getByTestId('portal-usage-total').textContent()}`);
      await page.waitForTimeout(250);
      await page.reload();
      await page.getByRole('heading', { level: 1, name: 'Key usage' }).waitFor();
    }
    await assertAccessible(page, 'key usage');
    await screenshot(page, 'portal-usage');

    // The portal is theirs only: the admin API refuses a developer.
    const admin = await page.evaluate(async () => (await fetch('/admin/v1/apps')).status);
    assert.equal(admin, 403);
    await page.context().close();
  });
});
