import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { seed, startHarness, TestClock, type Harness } from './support/harness.ts';
import { TEST_MASTER_KEY } from './support/oauth.ts';
import { WebhookReceiver } from './support/webhook-receiver.ts';
import { capturedLog } from './support/captured-log.ts';

/**
 * An endpoint disabled after failed deliveries is logged (a warning), by id: its URL, which often
 * carries a credential of the receiver (`?token=`, Slack-style paths), is not, as /readyz leaves it
 * out (test/webhook-readiness-no-urls.test.ts). Logs are shipped and kept where the admin API's
 * permissions do not reach.
 */
describe('the log of a webhook endpoint disabled after failed deliveries', () => {
  let receiver: WebhookReceiver;
  let h: Harness;
  const { logger, lines } = capturedLog('info');
  before(async () => {
    receiver = await WebhookReceiver.start();
    const yaml = `webhooks:\n  allowedNetworks: ['127.0.0.1/32']\n  caFile: ${receiver.caFile}\n  pollIntervalMs: 600000\n  disableAfterFailures: 1\n`;
    h = await startHarness({ GATEHOUSE_MASTER_KEY: TEST_MASTER_KEY }, TestClock.wall(), yaml, { logger });
  });
  after(async () => {
    await h.close();
    await receiver.stop();
  });

  test('names the endpoint by id, never its URL and the credential in it', async () => {
    const credential = 'receiver-credential-in-the-log-0123456789';
    const url = `${receiver.url}/${credential}?token=${credential}`;
    const endpoint = await h.admin('POST', '/webhooks', { url, events: ['key.created'] });
    assert.equal(endpoint.status, 201, JSON.stringify(endpoint.body));
    receiver.status = 500;
    await seed(h);
    await h.gh.webhooks!.deliverNow();
    assert.equal((await h.admin('GET', `/webhooks/${endpoint.body.id}`)).body.enabled, false, 'disabled after the failed attempt');
    const warning = lines.map((line) => JSON.stringify(line)).find((line) => line.includes('webhook endpoint disabled after failed deliveries'));
    assert.ok(warning, 'the disabling is logged');
    assert.match(warning, new RegExp(endpoint.body.id as string), 'named by its id');
    const everything = JSON.stringify(lines);
    assert.ok(!everything.includes(credential), `the URL's credential is in the log: ${warning}`);
  });
});
