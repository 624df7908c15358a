import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { ConflictError, type Store } from '../port.ts';
import { T0, audit, allAudit, makeAdminKey } from './fixtures.ts';

/** Admin keys: found by hash, listed, revoked once. */
export function adminKeysContract(current: () => Store): void {
  describe('admin keys', () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    test('a created admin key is found by hash and listed', async () => {
      const key = makeAdminKey(1);
      await store.adminKeys.create(key, audit('admin_key.created', 'admin_key', key.id));
      assert.deepEqual(await store.adminKeys.findByHash(key.hash), key);
      assert.equal(await store.adminKeys.findByHash('nope'), null);
      assert.deepEqual(await store.adminKeys.list(), [key]);
    });

    test('a second admin key with the same hash throws ConflictError', async () => {
      const key = makeAdminKey(1);
      await store.adminKeys.create(key, audit('admin_key.created', 'admin_key', key.id));
      await assert.rejects(store.adminKeys.create({ ...makeAdminKey(2), hash: key.hash }, audit('admin_key.created', 'admin_key', 'x')), ConflictError);
    });

    test('revoke sets revokedAt once; revoking again or an unknown key returns false', async () => {
      const key = makeAdminKey(1);
      await store.adminKeys.create(key, audit('admin_key.created', 'admin_key', key.id));
      assert.equal(await store.adminKeys.revoke(key.id, T0 + 7, audit('admin_key.revoked', 'admin_key', key.id)), true);
      assert.equal((await store.adminKeys.findByHash(key.hash))?.revokedAt, T0 + 7);
      assert.equal(await store.adminKeys.revoke(key.id, T0 + 8, audit('admin_key.revoked', 'admin_key', key.id)), false);
      assert.equal((await store.adminKeys.list())[0]?.revokedAt, T0 + 7);
      assert.equal(await store.adminKeys.revoke('adk_unknown', T0, audit('admin_key.revoked', 'admin_key', 'adk_unknown')), false);
      assert.equal((await allAudit(store, { action: 'admin_key.revoked' })).length, 1);
    });
  });
}
