import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { describe, test } from 'node:test';
import { audit, makeApp, makeKey } from '../contract/fixtures.ts';
import type { KeyAddressUse, Store } from '../port.ts';
import { tempStoreFiles } from './temp-store-files.ts';

const { nextPath, opened } = tempStoreFiles('address-days');
const DAY = 86_400_000;
const D0 = Date.UTC(2026, 11, 1);

async function storeWithKey(path: string): Promise<{ store: Store; keyId: string }> {
  const store = await opened(path);
  const app = makeApp(1);
  await store.apps.create(app, audit('app.created', 'app', app.id));
  const key = makeKey(app.id);
  await store.keys.create(key, audit('key.created', 'key', key.id));
  return { store, keyId: key.id };
}

const use = (keyId: string, address: string, at: number): KeyAddressUse => ({ keyId, address, firstSeen: at, lastSeen: at, requests: 1 });
const seenDays = (path: string): Record<string, number> => {
  const db = new DatabaseSync(path);
  try {
    return Object.fromEntries(
      db
        .prepare('SELECT address, seen_day FROM key_addresses')
        .all()
        .map((r) => [String(r.address), Number(r.seen_day)]),
    );
  } finally {
    db.close();
  }
};

describe('key addresses on SQLite keep the day each was last seen, for retention', () => {
  test('the day follows the latest use, whatever order the flushes bring uses in; retention cuts by it', async () => {
    const path = nextPath();
    const { store, keyId } = await storeWithKey(path);
    try {
      const record = (uses: KeyAddressUse[]) => store.usage.record({ keys: [], quotas: [], addresses: uses });
      await record([use(keyId, '192.0.2.1', D0 + 5), use(keyId, '192.0.2.2', D0 + 6)]);
      await record([use(keyId, '192.0.2.1', D0 + 10)]); // the same day
      await record([use(keyId, '192.0.2.2', D0 + 2 * DAY + 1)]); // a later day
      await record([use(keyId, '192.0.2.2', D0 + DAY)]); // an older use, flushed late
      assert.deepEqual(seenDays(path), { '192.0.2.1': D0 / DAY, '192.0.2.2': D0 / DAY + 2 });
      // Not seen since D0 + 11: the first address only; the second was seen on day 2.
      assert.equal(await store.keyAddresses.deleteSeenBefore(D0 + 11, 10), 1);
      assert.deepEqual(seenDays(path), { '192.0.2.2': D0 / DAY + 2 });
      assert.equal(await store.keyAddresses.deleteSeenBefore(D0 + 2 * DAY + 1, 10), 0, 'a row seen at the boundary is kept');
      assert.equal(await store.keyAddresses.deleteSeenBefore(D0 + 2 * DAY + 2, 10), 1);
    } finally {
      await store.close();
    }
  });

  test('migration 21 gives rows already stored the day of their last use', async () => {
    const path = nextPath();
    const { store, keyId } = await storeWithKey(path);
    await store.usage.record({ keys: [], quotas: [], addresses: [use(keyId, '192.0.2.9', D0 + 3 * DAY + 7)] });
    await store.close();
    {
      // The file as migration 20 left it: no seen_day, an index by time.
      const db = new DatabaseSync(path);
      db.exec(`DROP INDEX key_addresses_seen_day; ALTER TABLE key_addresses DROP COLUMN seen_day;
        CREATE INDEX key_addresses_seen ON key_addresses (last_seen); DELETE FROM schema_migrations WHERE version = 21;`);
      db.close();
    }
    const reopened = await opened(path);
    try {
      assert.deepEqual(seenDays(path), { '192.0.2.9': D0 / DAY + 3 });
      assert.equal(await reopened.keyAddresses.deleteSeenBefore(D0 + 4 * DAY, 10), 1);
    } finally {
      await reopened.close();
    }
  });
});
