import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { ConflictError, type Store } from '../port.ts';
import { T0, audit, allAudit, makeApi } from './fixtures.ts';
import { entityContract } from './entity.ts';

/** APIs: the entity operations, unique names and listen paths, all of them at once. */
export function apisContract(current: () => Store): void {
  describe('apis', () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    entityContract(
      'api',
      current,
      (s) => s.apis,
      makeApi,
      (a) => ({ ...a, upstreamUrl: 'http://127.0.0.1:9/new', updatedAt: T0 + 5 }),
    );

    test('a second api with a taken name or listen path throws ConflictError and writes nothing', async () => {
      const first = makeApi(1);
      await store.apis.create(first, audit('api.created', 'api', first.id));
      const sameName = { ...makeApi(2), name: first.name };
      const samePath = { ...makeApi(3), listenPath: first.listenPath };
      await assert.rejects(store.apis.create(sameName, audit('api.created', 'api', sameName.id)), ConflictError);
      await assert.rejects(store.apis.create(samePath, audit('api.created', 'api', samePath.id)), ConflictError);
      assert.equal(await store.apis.get(sameName.id), null);
      assert.equal(await store.apis.get(samePath.id), null);
      assert.equal((await allAudit(store)).length, 1);
    });

    test('updating an api to a taken name or listen path throws ConflictError and keeps the old values', async () => {
      const [a, b] = [makeApi(1), makeApi(2)];
      await store.apis.create(a, audit('api.created', 'api', a.id));
      await store.apis.create(b, audit('api.created', 'api', b.id));
      await assert.rejects(store.apis.update({ ...b, name: a.name }, audit('api.updated', 'api', b.id)), ConflictError);
      await assert.rejects(store.apis.update({ ...b, listenPath: a.listenPath }, audit('api.updated', 'api', b.id)), ConflictError);
      assert.deepEqual(await store.apis.get(b.id), b);
      assert.equal((await allAudit(store, { action: 'api.updated' })).length, 0);
    });

    test('apis.all returns every api in creation order', async () => {
      const created = [makeApi(1), makeApi(2), makeApi(3)];
      for (const api of created) await store.apis.create(api, audit('api.created', 'api', api.id));
      assert.deepEqual(await store.apis.all(), created);
    });
  });
}
