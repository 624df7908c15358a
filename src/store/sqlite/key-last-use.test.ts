import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { describe, test } from 'node:test';
import { audit, makeApp, makeKey, T0 } from '../contract/fixtures.ts';
import type { Store } from '../port.ts';
import { tempStoreFiles } from './temp-store-files.ts';

const { nextPath, opened } = tempStoreFiles('last-use');

async function storedKey(store: Store) {
  const app = makeApp(1);
  await store.apps.create(app, audit('app.created', 'app', app.id));
  const key = makeKey(app.id);
  await store.keys.create(key, audit('key.created', 'key', key.id));
  return key;
}

const columns = (path: string, table: string): string[] => {
  const db = new DatabaseSync(path);
  try {
    return db
      .prepare(`SELECT name FROM pragma_table_info('${table}')`)
      .all()
      .map((c) => String(c.name));
  } finally {
    db.close();
  }
};

describe("a key's last use on SQLite is kept beside the key, not in its row", () => {
  test('migration 19 carries each key’s last use over from its row, and the row loses those columns', async () => {
    const path = nextPath();
    const store = await opened(path);
    const used = await storedKey(store);
    const unused = makeKey(used.appId);
    await store.keys.create(unused, audit('key.created', 'key', unused.id));
    await store.close();
    {
      // The file as migration 18 left it: the last use in the key's row.
      const db = new DatabaseSync(path);
      db.exec(`DROP TABLE key_last_use; DELETE FROM schema_migrations WHERE version = 19;
        ALTER TABLE keys ADD COLUMN last_used_at INTEGER; ALTER TABLE keys ADD COLUMN last_used_from TEXT;`);
      db.prepare('UPDATE keys SET last_used_at = ?, last_used_from = ? WHERE id = ?').run(T0 + 5, '192.0.2.7', used.id);
      db.close();
    }
    const reopened = await opened(path);
    try {
      const key = await reopened.keys.get(used.id);
      assert.equal(key?.lastUsedAt, T0 + 5);
      assert.equal(key?.lastUsedFrom, '192.0.2.7');
      const other = await reopened.keys.get(unused.id);
      assert.equal(other?.lastUsedAt, null);
      assert.equal(other?.lastUsedFrom, undefined);
      assert.deepEqual(
        columns(path, 'keys').filter((c) => c.startsWith('last_used')),
        [],
      );
    } finally {
      await reopened.close();
    }
  });

  test('a usage flush writes no key row, and deleting a key deletes its last use', async () => {
    const path = nextPath();
    const store = await opened(path);
    try {
      const key = await storedKey(store);
      const check = new DatabaseSync(path);
      try {
        const row = check.prepare('SELECT * FROM keys WHERE id = ?');
        const before = row.get(key.id);
        await store.usage.record({ keys: [{ keyId: key.id, day: '2026-11-29', requests: 2, lastUsedAt: T0 + 9, lastUsedFrom: '192.0.2.3' }], quotas: [] });
        assert.deepEqual(row.get(key.id), before);
        assert.equal((await store.keys.findByHash(key.hash))?.lastUsedFrom, '192.0.2.3');
        assert.equal(await store.keys.delete(key.id, audit('key.deleted', 'key', key.id)), true);
        assert.equal(Number(check.prepare('SELECT COUNT(*) AS n FROM key_last_use').get()!.n), 0);
      } finally {
        check.close();
      }
    } finally {
      await store.close();
    }
  });
});
