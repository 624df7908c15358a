import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signInConsole, startConsoleHarness, type ConsoleBrowser } from './support/console.ts';
import type { AuthHarness } from './support/oauth.ts';
import { WebhookReceiver } from './support/webhook-receiver.ts';

/**
 * /readyz answers anyone who can reach the control listener, without credentials: developers reach it
 * (the portal is served there). An endpoint disabled after failed deliveries is reported there by id;
 * its URL, which often carries a credential of the receiver (`?token=`, Slack-style paths) and belongs
 * to one developer, is not.
 */
describe('/readyz names a disabled webhook endpoint, never its URL', () => {
  let receiver: WebhookReceiver;
  let h: AuthHarness;
  let dev: ConsoleBrowser;
  before(async () => {
    receiver = await WebhookReceiver.start();
    h = await startConsoleHarness(
      {},
      `
webhooks:
  allowedNetworks: ['127.0.0.1/32']
  developerAllowedNetworks: ['127.0.0.1/32']
  caFile: ${receiver.caFile}
  pollIntervalMs: 600000
  disableAfterFailures: 1
`,
    );
    await h.api('orders', ['orders:read'], { portal: { listed: true, description: 'Orders' } });
    dev = await signInConsole(h, (await h.user({ consoleRole: 'developer' })).username, { secondFactor: false, returnTo: '/developers/' });
  });
  after(async () => {
    await h.close();
    await receiver.stop();
  });

  test('a developer’s endpoint URL with a token in it does not reach the unauthenticated readiness answer', async () => {
    const app = (await dev.call('POST', '/portal/v1/apps', { name: 'Shop' })).body.id as string;
    const url = `${receiver.url}?token=receiver-credential-0123456789`;
    const endpoint = await dev.call('POST', `/portal/v1/apps/${app}/webhooks`, { url, events: ['key.created'] });
    assert.equal(endpoint.status, 201, JSON.stringify(endpoint.body));
    receiver.status = 500;
    assert.equal((await dev.call('POST', `/portal/v1/apps/${app}/keys`, {})).status, 201);
    await h.gh.webhooks!.deliverNow();
    assert.equal((await dev.call('GET', `/portal/v1/webhooks/${endpoint.body.id}`)).body.enabled, false, 'disabled after the failed attempt');

    const res = await fetch(`${h.gh.controlUrl}/readyz`);
    const text = await res.text();
    const health = JSON.parse(text).components['webhook-endpoints'];
    assert.equal(health.ok, false, 'reported as failing');
    assert.match(health.lastError, new RegExp(endpoint.body.id), 'named by its id');
    assert.ok(!text.includes('receiver-credential-0123456789'), `the URL's credential is in /readyz: ${health.lastError}`);
    assert.ok(!text.includes(receiver.url), 'nor the URL');
  });
});
