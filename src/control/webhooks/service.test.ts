import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newId } from '../../domain/ids.ts';
import type { WebhookEndpoint } from '../../domain/webhooks.ts';
import { audit, T0 } from '../../store/contract/fixtures.ts';
import { openSqliteStore } from '../../store/sqlite/sqlite-store.ts';
import type { Store } from '../../store/port.ts';
import type { ControlContext } from '../context.ts';
import { webhooksService } from './service.ts';

const actor = { actor: 'admin_1', requestId: null };

/** A store on which `meanwhile` runs once, right after the service has read the endpoint: what the delivery task does between its read and its write. */
async function storeWithEndpoint(meanwhile: (store: Store, endpoint: WebhookEndpoint) => Promise<void>) {
  const store = openSqliteStore(':memory:');
  await store.migrate();
  const endpoint: WebhookEndpoint = {
    id: newId('webhook', T0),
    url: 'https://hooks.example/in',
    events: ['key.created'],
    description: null,
    enabled: true,
    disabledReason: null,
    disabledBy: null,
    consecutiveFailures: 0,
    secrets: [],
    createdAt: T0,
    updatedAt: T0,
  };
  await store.webhooks.create(endpoint, audit('webhook.created', 'webhook', endpoint.id));
  const [event] = await store.events.append([{ type: 'key.created', data: {} }]);
  const deliveryId = newId('delivery', T0);
  await store.webhooks.enqueue(
    [
      {
        id: deliveryId,
        endpointId: endpoint.id,
        eventId: event!.id,
        eventType: 'key.created',
        eventAt: event!.at,
        status: 'pending',
        attempts: 0,
        nextAttemptAt: T0,
        lastAttemptAt: null,
        createdAt: T0,
      },
    ],
    event!.seq,
  );
  let ran = false;
  const get = store.webhooks.get.bind(store.webhooks);
  store.webhooks.get = async (id) => {
    const read = await get(id);
    if (!ran && read) ((ran = true), await meanwhile(store, read));
    return read;
  };
  const fail = (at: number) =>
    store.webhooks.recordAttempt(
      { deliveryId, at, statusCode: 500, error: null, durationMs: 1, responseExcerpt: null },
      { status: 'pending', nextAttemptAt: at + 1 },
    );
  const webhooks = {
    box: null,
    checkUrl: async () => {},
    secretOverlapMs: 0,
    wake: () => {},
    ping: null,
    testSends: null,
    fingerprintUrl: (url: string) => `fingerprint of ${url.length} characters`,
  };
  const ctx = { store, clock: () => T0 + 10, webhooks } as unknown as ControlContext;
  return { store, ctx, endpoint, fail };
}

test("an operator's edit keeps the failures the delivery task counted after the edit read the endpoint", async () => {
  let fail: (at: number) => Promise<number> = async () => 0;
  const made = await storeWithEndpoint(async () => {
    await fail(T0 + 1);
    await fail(T0 + 2);
  });
  fail = made.fail;
  try {
    const edited = await webhooksService.update(made.ctx, actor, made.endpoint.id, { description: 'billing' });
    assert.equal(edited.description, 'billing');
    assert.equal((await made.store.webhooks.get(made.endpoint.id))!.consecutiveFailures, 2);
  } finally {
    await made.store.close();
  }
});

test('an edit made from a copy read before the delivery task disabled the endpoint is refused (409), and does not enable it again', async () => {
  const made = await storeWithEndpoint(async (store, read) => {
    const disabled = {
      ...read,
      enabled: false,
      disabledReason: 'disabled after 5 failed delivery attempts',
      disabledBy: 'deliveries' as const,
      updatedAt: T0 + 1,
    };
    assert.equal(await store.webhooks.update(disabled, audit('webhook.disabled', 'webhook', read.id), { readAt: read.updatedAt }), true);
  });
  try {
    await assert.rejects(webhooksService.update(made.ctx, actor, made.endpoint.id, { description: 'billing' }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'CONFLICT');
      return true;
    });
    const stored = (await made.store.webhooks.get(made.endpoint.id))!;
    assert.deepEqual([stored.enabled, stored.disabledBy, stored.description], [false, 'deliveries', null]);
  } finally {
    await made.store.close();
  }
});
