import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call } from '../support/harness.ts';
import { PASSWORD } from '../support/oauth.ts';
import { assertAccessible, openNav, screenshot, signIn, startBrowserConsole, type BrowserConsole } from '../support/web-console.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';

const REFERENCE = JSON.stringify({
  openapi: '3.1.0',
  info: { title: 'Weather API', version: '1.0.0' },
  paths: { '/today': { get: { summary: 'Today’s forecast', responses: { '200': { description: 'The forecast' } } } } },
});

// The developer portal in headless Chromium: open sign-up, the catalogue with its reference, an app
// and a key of one's own, a call through the gateway, the usage it made, then an OAuth client and a
// webhook endpoint of the app (a real HTTPS receiver on loopback, the one private address allowed).
describe('developer portal in a browser', () => {
  let h: BrowserConsole;
  let receiver: WebhookReceiver;
  let apiId = '';
  before(async () => {
    receiver = await WebhookReceiver.start();
    h = await startBrowserConsole(
      {},
      `portal:\n  signup: open\nwebhooks:\n  allowedNetworks: ['127.0.0.1/32']\n  developerAllowedNetworks: ['127.0.0.1/32']\n  caFile: ${receiver.caFile}\n  pollIntervalMs: 600000\n`,
    );
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
  after(async () => {
    await h?.close();
    await receiver?.stop();
  });

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
    // Nothing in it sends the operator's document to Scalar's hosted services.
    assert.equal(await page.getByRole('button', { name: /Ask AI|Generate SDK|Deploy/ }).count(), 0, 'no hosted-service buttons');

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

    // An OAuth client of the app: its secret once, in its own panel.
    await openNav(page, 'My apps');
    await page.getByRole('link', { name: 'Weather widget' }).click();
    await page.getByLabel('Client name').fill('widget backend');
    await page.getByRole('checkbox', { name: /Client credentials/ }).check();
    await page.getByRole('button', { name: 'Register client' }).click();
    const clientPanel = page.getByRole('region', { name: 'Client widget backend registered.' });
    assert.match(((await clientPanel.getByTestId('secret').textContent()) ?? '').trim(), /^gcs_live_/);
    await page.getByRole('row', { name: /widget backend/ }).waitFor();
    await assertAccessible(page, 'app with a new OAuth client');

    // A webhook endpoint of the app: the signing secret once, then a test event the receiver verifies.
    await page.getByLabel('Endpoint URL').fill(receiver.url);
    await page.getByRole('checkbox', { name: 'key.rotated' }).check();
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const hookPanel = page.getByRole('region', { name: 'Webhook endpoint added.' });
    receiver.secrets = [((await hookPanel.getByTestId('secret').textContent()) ?? '').trim()];
    assert.match(receiver.secrets[0]!, /^whsec_/);
    await screenshot(page, 'portal-app-integrations');
    await page.getByRole('link', { name: receiver.url }).click();
    await page.getByRole('heading', { level: 1, name: 'Webhook endpoint' }).waitFor();
    await page.getByRole('button', { name: 'Send a test event' }).click();
    await page.getByTestId('webhook-test-result').filter({ hasText: 'was delivered' }).waitFor();
    assert.deepEqual(receiver.of('webhook.test').at(-1)?.verifiedWith, [true]);
    // The app's key rotated: the event is delivered, verified, and in the endpoint's delivery log.
    const key = (await h.admin('GET', '/keys?limit=100')).body.items.find((k: any) => k.name === 'widget');
    assert.equal((await h.admin('POST', `/keys/${key.id}/rotate`, {})).status, 201);
    await h.gh.webhooks!.deliverNow();
    assert.deepEqual(receiver.of('key.rotated').at(-1)?.verifiedWith, [true]);
    await page.reload();
    await page.getByRole('row', { name: /key\.rotated.*delivered/ }).waitFor();
    await assertAccessible(page, 'webhook endpoint');
    await screenshot(page, 'portal-webhook');

    // The portal is theirs only: the admin API refuses a developer.
    const admin = await page.evaluate(async () => (await fetch('/admin/v1/apps')).status);
    assert.equal(admin, 403);
    await page.context().close();
  });

  test('a key whose rotation is in its grace offers no Rotate: the new key says when it may be rotated, the old one which key replaces it', async () => {
    const dev = await h.consoleUser('developer');
    const page = await h.person();
    await signIn(page, h.base, dev.username, '/developers/');
    await page.getByRole('heading', { level: 1, name: 'API catalogue' }).waitFor();
    await openNav(page, 'My apps');
    await page.getByLabel('App name').fill('Rotating app');
    await page.getByRole('button', { name: 'Create app' }).click();
    await page.getByRole('link', { name: 'Rotating app' }).click();
    await page.getByRole('heading', { level: 1, name: 'App Rotating app' }).waitFor();
    await page.getByLabel('Key name').fill('first');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByTestId('secret').waitFor();

    const row = (name: string) => page.getByRole('row', { name: new RegExp(`^${name} `) });
    await row('first').getByRole('button', { name: 'Rotate' }).click();
    await page.getByRole('dialog', { name: 'Rotate this key?' }).getByRole('button', { name: 'Rotate' }).click();
    await page.getByText('Key rotated.').waitFor();
    await expectRows(2);
    // Both keys of the line work in the grace: neither offers a rotation the API would refuse (409).
    assert.equal(await page.getByRole('button', { name: 'Rotate', exact: true }).count(), 0, 'no Rotate while a rotation is in its grace');
    const rows = page.getByRole('row', { name: /^first / });
    assert.match((await rows.filter({ hasText: 'Rotated: use' }).textContent()) ?? '', /Rotated: use first\. This key stops at/);
    assert.match((await rows.filter({ hasText: 'Rotate after' }).textContent()) ?? '', /Rotate after .*: your previous key first works until then/);
    await assertAccessible(page, 'app with a rotation in its grace');

    // The old key revoked (its grace ended early), the new key may be rotated again.
    const old = (await h.admin('GET', '/keys?limit=100')).body.items.find((k: any) => k.name === 'first' && k.replacedBy !== null);
    assert.equal((await h.admin('POST', `/keys/${old.id}/revoke`, { reason: 'clients moved' })).status, 200);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'App Rotating app' }).waitFor();
    await page.getByRole('button', { name: 'Rotate', exact: true }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Rotate', exact: true }).count(), 1);
    await page.context().close();

    async function expectRows(n: number) {
      for (let tries = 0; (await page.getByRole('row', { name: /^first / }).count()) !== n; tries++) {
        assert.ok(tries < 40, 'the rotated key and its successor are listed');
        await page.waitForTimeout(100);
      }
    }
  });
});
