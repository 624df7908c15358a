import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { seed, startHarness, TestClock, type Harness } from './support/harness.ts';
import { TEST_MASTER_KEY } from './support/oauth.ts';
import { WebhookReceiver } from './support/webhook-receiver.ts';

/**
 * A webhook endpoint's URL often carries the receiver's credential (a Slack-style path, `?token=`).
 * The admin API shows it to whoever may read webhooks; the audit log, read with another permission,
 * exported and kept for years, records the URL's origin and a keyed fingerprint instead: enough to see
 * where it points and that it changed, never the credential.
 */
describe('audit entries of a webhook endpoint hold no credential of its URL', () => {
  let receiver: WebhookReceiver;
  let h: Harness;
  before(async () => {
    receiver = await WebhookReceiver.start();
    const yaml = `webhooks:\n  allowedNetworks: ['127.0.0.1/32']\n  caFile: ${receiver.caFile}\n  pollIntervalMs: 600000\n  disableAfterFailures: 1\n`;
    h = await startHarness({ GATEHOUSE_MASTER_KEY: TEST_MASTER_KEY }, TestClock.wall(), yaml);
  });
  after(async () => {
    await h.close();
    await receiver.stop();
  });

  test('created, updated, tested, disabled by failures, deleted: origin and fingerprint only', async () => {
    const first = 'XXXXreceivercredentialone0123456789';
    const second = 'YYYYreceivercredentialtwo0123456789';
    const url = (credential: string) => `${receiver.url}/services/T0/B0/${credential}?token=${credential}`;
    const created = await h.admin('POST', '/webhooks', { url: url(first), events: ['key.created'] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    assert.equal(created.body.url, url(first), 'the admin API still shows the URL');
    assert.equal((await h.admin('PATCH', `/webhooks/${id}`, { url: url(second) })).status, 200);
    assert.equal((await h.admin('POST', `/webhooks/${id}/test`)).status, 200);
    receiver.status = 500;
    await seed(h);
    await h.gh.webhooks!.deliverNow();
    assert.equal((await h.admin('GET', `/webhooks/${id}`)).body.enabled, false, 'disabled after the failed attempt');
    assert.equal((await h.admin('DELETE', `/webhooks/${id}`)).status, 204);

    const entries = (await h.gh.ctx.store.audit.list({ targetId: id, limit: 100 })).items;
    assert.deepEqual(entries.map((e) => e.action).sort(), ['webhook.created', 'webhook.deleted', 'webhook.disabled', 'webhook.tested', 'webhook.updated']);
    const text = JSON.stringify(entries);
    for (const credential of [first, second]) assert.ok(!text.includes(credential), `the URL's credential is in the audit log: ${text}`);
    assert.ok(!text.includes('/services/T0/B0'), 'the path is not recorded');

    const origin = new URL(receiver.url).origin;
    const byAction = (action: string) => entries.find((e) => e.action === action)!;
    const createdUrl = (byAction('webhook.created').after as { url: { origin: string; fingerprint: string } }).url;
    assert.equal(createdUrl.origin, origin);
    assert.match(createdUrl.fingerprint, /^hmac-sha256:[A-Za-z0-9_-]{22}$/);
    const updated = byAction('webhook.updated') as { before: { url: { fingerprint: string } }; after: { url: { fingerprint: string } } };
    assert.equal(updated.before.url.fingerprint, createdUrl.fingerprint, 'the same URL, the same fingerprint');
    assert.notEqual(updated.after.url.fingerprint, createdUrl.fingerprint, 'a changed credential shows as a changed fingerprint');
  });
});
