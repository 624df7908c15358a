import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Store } from '../port.ts';
import { allAudit, audit, makeApi, makeApp } from './fixtures.ts';

/** The developer portal's storage: apps found by their owner, OpenAPI documents attached to APIs. */
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
  });
}
