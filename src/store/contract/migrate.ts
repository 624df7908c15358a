import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { Store } from '../port.ts';
import { audit, makeApp } from './fixtures.ts';

/** Migrations: running them again changes nothing. */
export function migrateContract(current: () => Store): void {
  describe('migrate', () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    test('migrating a migrated store runs nothing and keeps its data', async () => {
      const app = makeApp(1);
      await store.apps.create(app, audit('app.created', 'app', app.id));
      assert.equal(await store.migrate(), 0);
      assert.equal(await store.migrate(), 0);
      assert.deepEqual(await store.apps.get(app.id), app);
    });
  });
}
