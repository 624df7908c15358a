import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { newDelivery } from '../src/control/webhooks/delivery.ts';
import type { WebhookEndpoint } from '../src/domain/webhooks.ts';
import { seed, startHarness, TestClock, type Harness } from './support/harness.ts';
import { TEST_MASTER_KEY } from './support/oauth.ts';
import { WebhookReceiver } from './support/webhook-receiver.ts';

/**
 * The delivery task disables an endpoint after a run of failed attempts: it reads the endpoint, then
 * writes the disable over the copy it read. Deliveries to one endpoint go out in parallel, and one that
 * succeeds in between ends the run (recordAttempt resets it, without changing the endpoint's
 * updatedAt): the endpoint works, and must not be disabled for a run that is over.
 */
let receiver: WebhookReceiver;
let h: Harness;
before(async () => {
  receiver = await WebhookReceiver.start();
  const yaml = `webhooks:
  allowedNetworks: ['127.0.0.1/32']
  caFile: ${receiver.caFile}
  pollIntervalMs: 600000
  retrySeconds: [1, 4, 16]
  disableAfterFailures: 1
`;
  h = await startHarness({ GATEHOUSE_MASTER_KEY: TEST_MASTER_KEY }, TestClock.wall(), yaml);
});
after(async () => {
  await h?.close();
  await receiver?.stop();
});

test('an endpoint whose run of failures a delivery ended while the disable was being made is not disabled', async () => {
  const ids = await seed(h);
  const created = await h.admin('POST', '/webhooks', { url: receiver.url, events: ['key.created'], description: 'receiver' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  receiver.secrets = [created.body.secret];
  const endpointId = created.body.id as string;
  receiver.status = 500;
  assert.equal((await h.admin('POST', '/keys', { appId: ids.appId, access: [{ apiId: ids.apiId }] })).status, 201);

  // Right after the disable reads the endpoint, another delivery to it succeeds (as one sent in parallel would).
  const { store } = h.gh.ctx;
  const repo = store.webhooks;
  const read = repo.get.bind(repo);
  let armed = true;
  repo.get = async (id: string): Promise<WebhookEndpoint | null> => {
    const endpoint = await read(id);
    if (armed && id === endpointId) {
      armed = false;
      const [event] = await store.events.append([{ type: 'key.created', data: {} }]);
      const delivery = newDelivery(event!, endpointId, h.clock.read());
      await repo.enqueue([delivery], event!.seq);
      const at = h.clock.read();
      await repo.recordAttempt(
        { deliveryId: delivery.id, at, statusCode: 204, error: null, durationMs: 1, responseExcerpt: null },
        { status: 'delivered', nextAttemptAt: null },
      );
    }
    return endpoint;
  };
  try {
    await h.gh.webhooks!.deliverNow();
  } finally {
    repo.get = read;
  }
  assert.equal(armed, false, 'the disable read the endpoint');
  const after = (await h.admin('GET', `/webhooks/${endpointId}`)).body;
  assert.deepEqual([after.enabled, after.consecutiveFailures, after.disabledReason], [true, 0, null]);
  const audit = await h.admin('GET', `/audit?targetId=${endpointId}&action=webhook.disabled`);
  assert.deepEqual(audit.body.items, []);
});
