import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Store } from '../port.ts';
import { allAudit, audit, makeApi, makeApp, makeClient, T0 } from './fixtures.ts';
import { makeEndpoint } from './webhooks.ts';

/**
 * The developer portal's storage: apps found by their owner, OpenAPI documents attached to APIs, OAuth
 * clients and webhook endpoints found by the app they are scoped to.
 */
export function portalContract(current: () => Store): void {
  describe('portal', () => {
    test('apps are listed and counted by the developer who owns them, by id, with a cursor', async () => {
      const { apps } = current();
      const mine = [makeApp(1), makeApp(2), makeApp(3)].map((a) => ({ ...a, ownerUserId: 'usr_a' }));
      for (const app of [...mine, { ...makeApp(4), ownerUserId: 'usr_b' }, makeApp(5)]) await apps.create(app, audit('app.created', 'app', app.id));
      const first = await apps.listByOwner('usr_a', { limit: 2 });
      assert.deepEqual(
        first.items.map((a) => a.id),
        [mine[0]!.id, mine[1]!.id],
      );
      const second = await apps.listByOwner('usr_a', { limit: 2, cursor: first.nextCursor! });
      assert.deepEqual(
        second.items.map((a) => a.id),
        [mine[2]!.id],
      );
      assert.equal(second.nextCursor, null);
      assert.equal(await apps.countByOwner('usr_a'), 3);
      assert.equal(await apps.countByOwner('usr_c'), 0);
      // A change of owner moves the app.
      await apps.update({ ...mine[0]!, ownerUserId: 'usr_c' }, audit('app.updated', 'app', mine[0]!.id));
      assert.equal(await apps.countByOwner('usr_a'), 2);
      assert.equal((await apps.listByOwner('usr_c', { limit: 5 })).items[0]?.id, mine[0]!.id);
    });

    test('createWithin creates an app only while its owner has fewer apps than the limit; creates together take turns', async () => {
      const { apps } = current();
      const owned = (n: number) => ({ ...makeApp(n), ownerUserId: 'usr_limit' });
      await apps.create(owned(1), audit('app.created', 'app', 'a'));
      await apps.create({ ...makeApp(2), ownerUserId: 'usr_other' }, audit('app.created', 'app', 'b'));
      const made = owned(3);
      assert.equal(await apps.createWithin(made, audit('app.created', 'app', made.id), 2), true);
      assert.deepEqual(await apps.get(made.id), made);
      const refused = owned(4);
      assert.equal(await apps.createWithin(refused, audit('app.created', 'app', refused.id), 2), false);
      assert.equal(await apps.get(refused.id), null);
      const together = [owned(5), owned(6), owned(7)];
      const results = await Promise.all(together.map((a) => apps.createWithin(a, audit('app.created', 'app', a.id), 3)));
      assert.deepEqual(
        results.filter((r) => r),
        [true],
        'one more fits, whichever comes first',
      );
      assert.equal(await apps.countByOwner('usr_limit'), 3);
    });

    test('an API’s document is attached with its audit entry, replaced, found by API, and goes with the API', async () => {
      const store = current();
      const [a, b] = [makeApi(1), makeApi(2)];
      for (const api of [a, b]) await store.apis.create(api, audit('api.created', 'api', api.id));
      await store.apiDocuments.put(
        { apiId: a.id, contentType: 'application/json', body: '{"openapi":"3.1.0"}', updatedAt: 1 },
        audit('api.reference_attached', 'api', a.id),
      );
      await store.apiDocuments.put(
        { apiId: a.id, contentType: 'application/yaml', body: 'openapi: 3.1.0\n', updatedAt: 2 },
        audit('api.reference_attached', 'api', a.id),
      );
      assert.deepEqual(await store.apiDocuments.get(a.id), { apiId: a.id, contentType: 'application/yaml', body: 'openapi: 3.1.0\n', updatedAt: 2 });
      assert.equal(await store.apiDocuments.get(b.id), null);
      assert.deepEqual([...(await store.apiDocuments.which([a.id, b.id, 'api_none']))], [a.id]);
      assert.deepEqual([...(await store.apiDocuments.which([]))], []);
      assert.equal((await allAudit(store, { action: 'api.reference_attached' })).length, 2);
      await store.apis.delete(a.id, audit('api.deleted', 'api', a.id));
      assert.equal(await store.apiDocuments.get(a.id), null);
    });

    test('OAuth clients registered for an app are listed by that app only, by id, with a cursor; a change keeps the app', async () => {
      const { clients } = current();
      const mine = [makeClient(1), makeClient(2), makeClient(3)].map((c) => ({ ...c, appId: 'app_a' }));
      for (const c of [...mine, { ...makeClient(4), appId: 'app_b' }, makeClient(5)]) await clients.create(c, audit('client.created', 'client', c.id));
      const first = await clients.listByApp('app_a', { limit: 2 });
      assert.deepEqual(first.items, mine.slice(0, 2));
      const second = await clients.listByApp('app_a', { limit: 2, cursor: first.nextCursor! });
      assert.deepEqual([second.items, second.nextCursor], [[mine[2]], null]);
      assert.deepEqual((await clients.listByApp('app_c', { limit: 5 })).items, []);
      await clients.update({ ...mine[0]!, name: 'renamed', updatedAt: T0 + 1 }, audit('client.updated', 'client', mine[0]!.id));
      assert.equal((await clients.listByApp('app_a', { limit: 5 })).items[0]?.name, 'renamed');
      await clients.delete(mine[1]!.id, audit('client.deleted', 'client', mine[1]!.id));
      assert.equal((await clients.listByApp('app_a', { limit: 5 })).items.length, 2);
    });

    test('createWithin creates an OAuth client or a webhook endpoint only while its app has fewer than the limit; creates together take turns', async () => {
      const { clients, webhooks } = current();
      const client = () => ({ ...makeClient(9), appId: 'app_limited' });
      const endpoint = () => makeEndpoint({ appId: 'app_limited' });
      await clients.create({ ...makeClient(8), appId: 'app_elsewhere' }, audit('client.created', 'client', 'c'));
      await webhooks.create(makeEndpoint({ appId: 'app_elsewhere' }), audit('webhook.created', 'webhook', 'w'));
      for (const [repo, make] of [
        [clients, client],
        [webhooks, endpoint],
      ] as const) {
        const within = (x: ReturnType<typeof make>, max: number) =>
          (repo.createWithin as (x: unknown, a: ReturnType<typeof audit>, max: number) => Promise<boolean>)(x, audit('created', 'client', x.id), max);
        const made = make();
        assert.equal(await within(made, 1), true);
        assert.equal((await repo.get(made.id))?.id, made.id);
        const refused = make();
        assert.equal(await within(refused, 1), false);
        assert.equal(await repo.get(refused.id), null);
        const results = await Promise.all([make(), make(), make()].map((x) => within(x, 2)));
        assert.deepEqual(
          results.filter((r) => r),
          [true],
          'one more fits, whichever comes first',
        );
        assert.equal((await repo.listByApp('app_limited', { limit: 10 })).items.length, 2);
      }
    });

    test('a webhook endpoint scoped to an app keeps its event types, is listed by its app, and a range replay sends it only that app’s events', async () => {
      const { webhooks, events } = current();
      const scoped = makeEndpoint({ appId: 'app_a', events: ['key.created', 'key.rotated'] });
      const operators = makeEndpoint({ events: ['key.created'] });
      for (const e of [scoped, operators, makeEndpoint({ appId: 'app_b' })]) await webhooks.create(e, audit('webhook.created', 'webhook', e.id));
      assert.deepEqual(await webhooks.get(scoped.id), scoped);
      assert.deepEqual(
        (await webhooks.all()).find((e) => e.id === scoped.id),
        scoped,
      );
      assert.deepEqual((await webhooks.listByApp('app_a', { limit: 5 })).items, [scoped]);
      const disabled = { ...scoped, enabled: false, disabledReason: 'paused', updatedAt: T0 + 1 };
      await webhooks.update(disabled, audit('webhook.updated', 'webhook', scoped.id));
      assert.deepEqual((await webhooks.listByApp('app_a', { limit: 5 })).items, [disabled]);
      await webhooks.update(scoped, audit('webhook.updated', 'webhook', scoped.id));

      await events.append([
        { type: 'key.created', data: { key: { id: 'key_1', appId: 'app_a' } } },
        { type: 'key.created', data: { key: { id: 'key_2', appId: 'app_b' } } },
        { type: 'key.rotated', data: { previous: { id: 'key_1', appId: 'app_a' }, successor: { id: 'key_3', appId: 'app_a' } } },
        { type: 'login.failed_burst', data: { user: { id: 'usr_1' } } },
      ]);
      const until = (await events.after(0, 10)).at(-1)!.at + 1;
      assert.equal(await webhooks.replayRange(scoped, 0, until, T0 + 5, audit('webhook.replayed', 'webhook', scoped.id), 10), 2);
      assert.equal(await webhooks.replayRange(operators, 0, until, T0 + 5, audit('webhook.replayed', 'webhook', operators.id), 10), 2);
      const due = await webhooks.due(T0 + 5, 10, 0);
      type KeyEvent = { key?: { id: string }; successor?: { id: string } };
      const about = (endpointId: string) =>
        due
          .filter((d) => d.delivery.endpointId === endpointId)
          .map(({ event }) => `${event.type} ${((event.data as KeyEvent).key ?? (event.data as KeyEvent).successor)!.id}`)
          .sort();
      assert.deepEqual(about(scoped.id), ['key.created key_1', 'key.rotated key_3']);
      assert.deepEqual(about(operators.id), ['key.created key_1', 'key.created key_2']);
    });
  });
}
