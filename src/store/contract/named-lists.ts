import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { Store } from '../port.ts';
import { audit, makeApi, makeApp, makePolicy } from './fixtures.ts';

/** Lists of APIs, apps and policies filtered by the name people call them by. */
export function namedListsContract(current: () => Store): void {
  describe('names', () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    test('apis, apps and policies list only what has exactly the name asked for, in pages', async () => {
      const [api, other] = [makeApi(1), makeApi(2)];
      for (const a of [api, other]) await store.apis.create(a, audit('api.created', 'api', a.id, a));
      assert.deepEqual((await store.apis.list({ limit: 10, name: api.name })).items, [api]);
      assert.deepEqual((await store.apis.list({ limit: 10, name: api.name.toUpperCase() })).items, []);
      assert.deepEqual((await store.apis.list({ limit: 10, name: api.name.slice(0, -1) })).items, []);
      // App names need not be unique: every app of the name is listed, paged like any list.
      const twins = [{ ...makeApp(1), name: 'twin' }, { ...makeApp(2), name: 'twin' }, makeApp(3)];
      for (const a of twins) await store.apps.create(a, audit('app.created', 'app', a.id, a));
      const first = await store.apps.list({ limit: 1, name: 'twin' });
      assert.deepEqual(first.items, [twins[0]]);
      const second = await store.apps.list({ limit: 1, name: 'twin', cursor: first.nextCursor ?? undefined });
      assert.deepEqual(second.items, [twins[1]]);
      assert.equal(second.nextCursor, null);
      const policy = makePolicy(1);
      await store.policies.create(policy, audit('policy.created', 'policy', policy.id, policy));
      assert.deepEqual((await store.policies.list({ limit: 10, name: policy.name })).items, [policy]);
    });
  });
}
