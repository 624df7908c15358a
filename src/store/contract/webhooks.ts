import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { OutboxEvent } from '../../domain/events.ts';
import { newId } from '../../domain/ids.ts';
import type { WebhookDelivery, WebhookEndpoint } from '../../domain/webhooks.ts';
import type { Store } from '../port.ts';
import { allAudit, audit, makeApp, storeKey, T0 } from './fixtures.ts';

export function makeEndpoint(overrides: Partial<WebhookEndpoint> = {}): WebhookEndpoint {
  return {
    id: newId('webhook', T0),
    url: 'https://hooks.example/in',
    events: ['key.created', 'key.revoked'],
    description: null,
    enabled: true,
    disabledReason: null,
    consecutiveFailures: 0,
    secrets: [{ id: newId('webhookSecret', T0), sealed: 'v1.sealed', createdAt: T0, expiresAt: null }],
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

const deliveryOf = (event: OutboxEvent, endpointId: string, at = T0): WebhookDelivery => ({
  id: newId('delivery', at),
  endpointId,
  eventId: event.id,
  eventType: event.type,
  eventAt: event.at,
  status: 'pending',
  attempts: 0,
  nextAttemptAt: at,
  lastAttemptAt: null,
  createdAt: at,
});

/** `n` key.created events, each with a pending delivery to the endpoint, enqueued: the deliveries. */
async function pendingDeliveries(store: Store, endpointId: string, n: number): Promise<WebhookDelivery[]> {
  const events = await store.events.append(Array.from({ length: n }, () => ({ type: 'key.created' as const, data: {} })));
  const deliveries = events.map((e) => deliveryOf(e, endpointId));
  await store.webhooks.enqueue(deliveries, events.at(-1)!.seq);
  return deliveries;
}

/** An attempt of a delivery, answered `statusCode` (a failure by default). */
const attemptOf = (deliveryId: string, at: number, statusCode = 500, responseExcerpt: string | null = null) => ({
  deliveryId,
  at,
  statusCode,
  error: null,
  durationMs: 3,
  responseExcerpt,
});

/** Webhook endpoints, the outbox cursor, deliveries (one per event and endpoint), attempts, replay. */
export function webhooksContract(current: () => Store): void {
  describe('webhooks', () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    test('endpoints are created, read, listed, changed and deleted, each change audited', async () => {
      const a = makeEndpoint();
      const b = makeEndpoint({ url: 'https://other.example/' });
      await store.webhooks.create(a, audit('webhook.created', 'webhook', a.id));
      await store.webhooks.create(b, audit('webhook.created', 'webhook', b.id));
      assert.deepEqual(await store.webhooks.get(a.id), a);
      const first = await store.webhooks.list({ limit: 1 });
      assert.deepEqual(first.items, [a]);
      assert.deepEqual((await store.webhooks.list({ limit: 1, cursor: first.nextCursor! })).items, [b]);
      assert.deepEqual(await store.webhooks.all(), [a, b]);
      const changed = { ...a, enabled: false, disabledReason: 'paused', updatedAt: T0 + 1 };
      assert.equal(await store.webhooks.update(changed, audit('webhook.updated', 'webhook', a.id)), true);
      assert.deepEqual(await store.webhooks.get(a.id), changed);
      assert.equal(await store.webhooks.update(makeEndpoint(), audit('webhook.updated', 'webhook', 'x')), false);
      assert.equal(await store.webhooks.delete(b.id, audit('webhook.deleted', 'webhook', b.id)), true);
      assert.equal(await store.webhooks.get(b.id), null);
      assert.deepEqual(
        (await allAudit(store, { targetId: a.id })).map((e) => e.action),
        ['webhook.updated', 'webhook.created'],
      );
    });

    test('enqueue makes one delivery per event and endpoint, however often, and moves the cursor forward only', async () => {
      const endpoint = makeEndpoint();
      await store.webhooks.create(endpoint, audit('webhook.created', 'webhook', endpoint.id));
      const events = await store.events.append([
        { type: 'key.created', data: { n: 1 } },
        { type: 'key.revoked', data: { n: 2 } },
      ]);
      assert.equal(await store.webhooks.cursor(), 0);
      assert.equal(
        await store.webhooks.enqueue(
          events.map((e) => deliveryOf(e, endpoint.id)),
          events[1]!.seq,
        ),
        2,
      );
      assert.equal(
        await store.webhooks.enqueue(
          events.map((e) => deliveryOf(e, endpoint.id)),
          events[0]!.seq,
        ),
        0,
        'a second fan-out adds nothing',
      );
      assert.equal(await store.webhooks.cursor(), events[1]!.seq, 'never backwards');
      const due = await store.webhooks.due(T0, 10, 0);
      assert.deepEqual(
        due.map((d) => [d.event.id, d.event.data, d.delivery.endpointId]),
        events.map((e) => [e.id, e.data, endpoint.id]),
      );
      assert.deepEqual(await store.webhooks.due(T0 - 1, 10, 0), [], 'not yet due');
      // Claimed for a lease: not handed out again until it ends (or the attempt is recorded).
      assert.equal((await store.webhooks.due(T0, 1, 500)).length, 1);
      assert.deepEqual(
        (await store.webhooks.due(T0, 10, 500)).map((d) => d.event.id),
        [events[1]!.id],
      );
      assert.deepEqual(await store.webhooks.due(T0 + 499, 10, 500), []);
      assert.equal((await store.webhooks.due(T0 + 500, 10, 0)).length, 2);
      await store.webhooks.update({ ...endpoint, enabled: false }, audit('webhook.updated', 'webhook', endpoint.id));
      assert.deepEqual(await store.webhooks.due(T0 + 500, 10, 0), [], 'a disabled endpoint gets nothing');
    });

    test("an endpoint's edit keeps the run of failures the delivery task counted since it was read; only an enabling resets it", async () => {
      const endpoint = makeEndpoint();
      await store.webhooks.create(endpoint, audit('webhook.created', 'webhook', endpoint.id));
      const [d1, d2] = await pendingDeliveries(store, endpoint.id, 2);
      const read = (await store.webhooks.get(endpoint.id))!;
      // While an operator's edit is on its way, the delivery task counts two failures.
      await store.webhooks.recordAttempt(attemptOf(d1!.id, T0 + 1), { status: 'pending', nextAttemptAt: T0 + 100 });
      await store.webhooks.recordAttempt(attemptOf(d2!.id, T0 + 2), { status: 'pending', nextAttemptAt: T0 + 100 });
      const edited = { ...read, description: 'billing', updatedAt: T0 + 1 };
      assert.equal(await store.webhooks.update(edited, audit('webhook.updated', 'webhook', endpoint.id), { readAt: read.updatedAt }), true);
      assert.deepEqual(await store.webhooks.get(endpoint.id), { ...edited, consecutiveFailures: 2 });
      const paused = { ...edited, enabled: false, disabledReason: 'paused', updatedAt: T0 + 2 };
      assert.equal(await store.webhooks.update(paused, audit('webhook.updated', 'webhook', endpoint.id)), true);
      assert.equal((await store.webhooks.get(endpoint.id))!.consecutiveFailures, 2, 'without readAt too');
      const enabled = { ...paused, enabled: true, disabledReason: null, consecutiveFailures: 0, updatedAt: T0 + 3 };
      assert.equal(await store.webhooks.update(enabled, audit('webhook.enabled', 'webhook', endpoint.id), { readAt: T0 + 2, resetFailures: true }), true);
      assert.deepEqual(await store.webhooks.get(endpoint.id), enabled);
    });

    test('an endpoint changed since the copy an edit was made from is not overwritten (readAt)', async () => {
      const endpoint = makeEndpoint();
      await store.webhooks.create(endpoint, audit('webhook.created', 'webhook', endpoint.id));
      // The delivery task disables it after a run of failures; an edit made from the copy before must not enable it again.
      const disabled = {
        ...endpoint,
        enabled: false,
        disabledReason: 'disabled after 5 failed delivery attempts',
        disabledBy: 'deliveries' as const,
        updatedAt: T0 + 1,
      };
      assert.equal(await store.webhooks.update(disabled, audit('webhook.disabled', 'webhook', endpoint.id), { readAt: T0 }), true);
      const stale = { ...endpoint, description: 'billing', updatedAt: T0 + 1 };
      assert.equal(await store.webhooks.update(stale, audit('webhook.updated', 'webhook', endpoint.id), { readAt: T0 }), false);
      assert.deepEqual(await store.webhooks.get(endpoint.id), disabled);
      assert.deepEqual(
        (await allAudit(store, { targetId: endpoint.id })).map((e) => e.action),
        ['webhook.disabled', 'webhook.created'],
        'a write refused writes no audit entry',
      );
    });

    test('a disable written only while the run of failures lasts (failuresAtLeast): a delivery that ended it since the read wins', async () => {
      const endpoint = makeEndpoint();
      await store.webhooks.create(endpoint, audit('webhook.created', 'webhook', endpoint.id));
      const [d1, d2] = await pendingDeliveries(store, endpoint.id, 2);
      await store.webhooks.recordAttempt(attemptOf(d1!.id, T0 + 1), { status: 'pending', nextAttemptAt: T0 + 100 });
      const read = (await store.webhooks.get(endpoint.id))!;
      assert.equal(read.consecutiveFailures, 1);
      // The other delivery succeeds after the disable read the endpoint: the run is over.
      await store.webhooks.recordAttempt(attemptOf(d2!.id, T0 + 2, 204), { status: 'delivered', nextAttemptAt: null });
      const disabled = {
        ...read,
        enabled: false,
        disabledReason: 'disabled after 1 failed delivery attempts',
        disabledBy: 'deliveries' as const,
        updatedAt: T0 + 3,
      };
      const entry = audit('webhook.disabled', 'webhook', endpoint.id);
      assert.equal(await store.webhooks.update(disabled, entry, { readAt: read.updatedAt, failuresAtLeast: 1 }), false);
      assert.equal((await store.webhooks.get(endpoint.id))!.enabled, true);
      // While the run lasts, the same disable is written.
      await store.webhooks.recordAttempt(attemptOf(d1!.id, T0 + 4), { status: 'pending', nextAttemptAt: T0 + 100 });
      assert.equal(await store.webhooks.update(disabled, entry, { readAt: read.updatedAt, failuresAtLeast: 1 }), true);
      assert.equal((await store.webhooks.get(endpoint.id))!.enabled, false);
    });

    test('attempts are logged; failures count a run that a delivery ends', async () => {
      const endpoint = makeEndpoint();
      await store.webhooks.create(endpoint, audit('webhook.created', 'webhook', endpoint.id));
      const [d1, d2] = (await pendingDeliveries(store, endpoint.id, 2)) as [WebhookDelivery, WebhookDelivery];
      const fail = (id: string, at: number) => attemptOf(id, at, 500, 'oops');
      assert.equal(await store.webhooks.recordAttempt(fail(d1.id, T0 + 1), { status: 'pending', nextAttemptAt: T0 + 100 }), 1);
      assert.equal(await store.webhooks.recordAttempt(fail(d2.id, T0 + 2), { status: 'failed', nextAttemptAt: null }), 2);
      assert.equal((await store.webhooks.get(endpoint.id))!.consecutiveFailures, 2);
      assert.deepEqual(
        (await store.webhooks.due(T0 + 100, 10, 0)).map((d) => d.delivery.id),
        [d1.id],
      );
      const ok = { deliveryId: d1.id, at: T0 + 100, statusCode: 204, error: null, durationMs: 1, responseExcerpt: null };
      assert.equal(await store.webhooks.recordAttempt(ok, { status: 'delivered', nextAttemptAt: null }), 0);
      const stored = (await store.webhooks.getDelivery(d1.id))!;
      assert.deepEqual([stored.status, stored.attempts, stored.nextAttemptAt, stored.lastAttemptAt], ['delivered', 2, null, T0 + 100]);
      assert.deepEqual(await store.webhooks.attempts(d1.id), [fail(d1.id, T0 + 1), ok]);
      const page = await store.webhooks.deliveries({ endpointId: endpoint.id, limit: 1 });
      assert.deepEqual(
        page.items.map((d) => d.id),
        [d2.id],
        'newest first',
      );
      assert.deepEqual(
        (await store.webhooks.deliveries({ endpointId: endpoint.id, limit: 5, cursor: page.nextCursor! })).items.map((d) => d.id),
        [d1.id],
      );
      assert.deepEqual(
        (await store.webhooks.deliveries({ endpointId: endpoint.id, limit: 5, status: 'failed' })).items.map((d) => d.id),
        [d2.id],
      );
    });

    test('replay starts a new round for one delivery, or for every event of a time range', async () => {
      const endpoint = makeEndpoint({ events: ['key.created'] });
      await store.webhooks.create(endpoint, audit('webhook.created', 'webhook', endpoint.id));
      const [e1] = await store.events.append([{ type: 'key.created', data: { n: 1 } }]);
      const d1 = deliveryOf(e1!, endpoint.id);
      await store.webhooks.enqueue([d1], e1!.seq);
      await store.webhooks.recordAttempt(
        { deliveryId: d1.id, at: T0, statusCode: null, error: 'refused', durationMs: 1, responseExcerpt: null },
        { status: 'failed', nextAttemptAt: null },
      );
      assert.equal(await store.webhooks.replay(d1.id, T0 + 5, audit('webhook.replayed', 'webhook', endpoint.id)), true);
      assert.deepEqual(
        (await store.webhooks.due(T0 + 5, 10, 0)).map((d) => [d.delivery.id, d.delivery.attempts]),
        [[d1.id, 0]],
      );
      assert.equal(await store.webhooks.replay('dlv_missing', T0, audit('webhook.replayed', 'webhook', endpoint.id)), false);
      // Events the endpoint never had a delivery for (it did not exist, or was disabled) are added; other types are not.
      await store.events.append([
        { type: 'key.created', data: { n: 2 } },
        { type: 'key.revoked', data: { n: 3 } },
      ]);
      const all = await store.events.after(0, 10);
      const replayed = await store.webhooks.replayRange(endpoint, 0, all.at(-1)!.at + 1, T0 + 9, audit('webhook.replayed', 'webhook', endpoint.id), 10);
      assert.equal(replayed, 2);
      const due = await store.webhooks.due(T0 + 9, 10, 0);
      assert.deepEqual(
        due.map((d) => d.event.data).sort((a, b) => Number(a.n) - Number(b.n)),
        [{ n: 1 }, { n: 2 }],
      );
      assert.equal(
        await store.webhooks.replayRange(endpoint, 0, all[0]!.at, T0 + 9, audit('webhook.replayed', 'webhook', endpoint.id), 10),
        0,
        'until is excluded',
      );
      const before = await store.webhooks.due(T0 + 9, 10, 0);
      const past = await store.webhooks.replayRange(endpoint, 0, all.at(-1)!.at + 1, T0 + 20, audit('webhook.replayed', 'webhook', endpoint.id), 1);
      assert.equal(past, 2, 'more than the limit: limit + 1');
      assert.deepEqual(await store.webhooks.due(T0 + 9, 10, 0), before, 'and nothing changed');
    });

    test("delete makes its audit entry from the endpoint as it deletes it: an edit since the read, and the delivery task's run of failures", async () => {
      const read = makeEndpoint();
      await store.webhooks.create(read, audit('webhook.created', 'webhook', read.id));
      const edited = { ...read, description: 'edited since', enabled: false, disabledReason: 'paused', updatedAt: T0 + 1 };
      assert.equal(await store.webhooks.update(edited, audit('webhook.updated', 'webhook', read.id), { readAt: read.updatedAt }), true);
      // The delivery task counts a failure after the edit, as it may while the delete is on its way.
      const [delivery] = await pendingDeliveries(store, read.id, 1);
      await store.webhooks.recordAttempt(attemptOf(delivery!.id, T0 + 2), { status: 'pending', nextAttemptAt: T0 + 100 });
      const stored = await store.webhooks.get(read.id);
      assert.equal(stored!.consecutiveFailures, 1);
      const seen: unknown[] = [];
      const deleted = (was: WebhookEndpoint) => (
        seen.push(was),
        { ...audit('webhook.deleted', 'webhook', was.id), before: { description: was.description, consecutiveFailures: was.consecutiveFailures } }
      );
      assert.equal(await store.webhooks.delete(read.id, deleted), true);
      assert.deepEqual(seen, [stored]);
      assert.deepEqual((await allAudit(store, { action: 'webhook.deleted' }))[0]!.before, { description: 'edited since', consecutiveFailures: 1 });
      assert.equal(await store.webhooks.delete(read.id, deleted), false);
      assert.equal(seen.length, 1);
    });

    test('deleting an endpoint deletes its deliveries; finished deliveries are cut by age', async () => {
      const endpoint = makeEndpoint();
      await store.webhooks.create(endpoint, audit('webhook.created', 'webhook', endpoint.id));
      const events = await store.events.append([1, 2, 3].map((n) => ({ type: 'key.created' as const, data: { n } })));
      const deliveries = events.map((e) => deliveryOf(e, endpoint.id));
      await store.webhooks.enqueue(deliveries, events[2]!.seq);
      for (const d of deliveries.slice(0, 2))
        await store.webhooks.recordAttempt(
          { deliveryId: d.id, at: T0, statusCode: 200, error: null, durationMs: 1, responseExcerpt: null },
          { status: 'delivered', nextAttemptAt: null },
        );
      assert.equal(await store.webhooks.deleteFinishedBefore(T0 + 1, 1), 1);
      assert.equal(await store.webhooks.deleteFinishedBefore(T0 + 1, 10), 1, 'the pending one stays');
      assert.deepEqual(
        (await store.webhooks.deliveries({ endpointId: endpoint.id, limit: 10 })).items.map((d) => d.id),
        [deliveries[2]!.id],
      );
      await store.webhooks.delete(endpoint.id, audit('webhook.deleted', 'webhook', endpoint.id));
      assert.equal(await store.webhooks.getDelivery(deliveries[2]!.id), null);
    });

    test("the expiry scan's window: keys not revoked expiring after one time and at or before another, soonest first", async () => {
      const app = makeApp(1);
      await store.apps.create(app, audit('app.created', 'app', app.id));
      const late = await storeKey(store, app.id, { expiresAt: T0 + 300 });
      const soon = await storeKey(store, app.id, { expiresAt: T0 + 100 });
      await storeKey(store, app.id, { expiresAt: T0 + 200, revokedAt: T0, revokedReason: 'x' });
      await storeKey(store, app.id, { expiresAt: null });
      await storeKey(store, app.id, { expiresAt: T0 + 50 });
      assert.deepEqual(
        (await store.keys.expiringBetween(T0 + 50, T0 + 300, 10)).map((k) => k.id),
        [soon.id, late.id],
      );
      assert.deepEqual(
        (await store.keys.expiringBetween(T0 + 50, T0 + 300, 1)).map((k) => k.id),
        [soon.id],
      );
    });
  });
}
