import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { describe, test } from 'node:test';
import { lineageOf } from '../../domain/entities.ts';
import { audit, makeApp, makeKey } from '../contract/fixtures.ts';
import { tempStoreFiles } from './temp-store-files.ts';

const { nextPath, opened } = tempStoreFiles('usage-by-day');

/** How SQLite finds the rows a flush adds to, by the plan's wording (`SEARCH ... USING ... (day=? AND key_id=?)`). */
function plans(path: string): string[] {
  const db = new DatabaseSync(path);
  try {
    return [
      'UPDATE usage_daily SET requests = requests + 1 WHERE key_id = ? AND day = ?',
      'UPDATE quota_usage SET used = used + 1 WHERE key_id = ? AND period = ?',
    ].map((sql) =>
      db
        .prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .all('k', 'd')
        .map((r) => String(r.detail))
        .join('; '),
    );
  } finally {
    db.close();
  }
}

describe('usage counts on SQLite are keyed by the day first', () => {
  test("a flush finds today's rows by the day, then the key: they lie together, apart from earlier days'", async () => {
    const path = nextPath();
    await (await opened(path)).close();
    const [daily, quota] = plans(path);
    assert.match(daily!, /\(day=\? AND key_id=\?\)/);
    assert.match(quota!, /\(period=\? AND key_id=\?\)/);
  });

  test("migration 22 carries every key's counts over, and a key's own reads and deletion still find them", async () => {
    const path = nextPath();
    const store = await opened(path);
    const app = makeApp(1);
    await store.apps.create(app, audit('app.created', 'app', app.id));
    const [a, b] = [makeKey(app.id), makeKey(app.id)];
    for (const key of [a, b]) await store.keys.create(key, audit('key.created', 'key', key.id));
    await store.close();
    {
      // The tables as migration 21 left them: the key first.
      const db = new DatabaseSync(path);
      db.exec(`DROP TABLE usage_daily; DROP TABLE quota_usage; DELETE FROM schema_migrations WHERE version = 22;
        CREATE TABLE usage_daily (key_id TEXT NOT NULL, day TEXT NOT NULL, requests INTEGER NOT NULL, PRIMARY KEY (key_id, day));
        CREATE TABLE quota_usage (key_id TEXT NOT NULL, period TEXT NOT NULL, used INTEGER NOT NULL, PRIMARY KEY (key_id, period));`);
      const day = db.prepare('INSERT INTO usage_daily VALUES (?, ?, ?)');
      for (const [key, d, n] of [
        [a.id, '2026-11-30', 4],
        [a.id, '2026-12-01', 7],
        [b.id, '2026-12-01', 2],
      ] as const)
        day.run(key, d, n);
      db.prepare('INSERT INTO quota_usage VALUES (?, ?, ?)').run(lineageOf(a), '2026-12', 11);
      db.close();
    }
    const reopened = await opened(path);
    try {
      assert.deepEqual(await reopened.usage.requestsByDay(a.id), [
        { day: '2026-11-30', requests: 4 },
        { day: '2026-12-01', requests: 7 },
      ]);
      assert.equal(await reopened.usage.quotaUsed(lineageOf(a), '2026-12'), 11);
      await reopened.usage.record({
        keys: [{ keyId: a.id, day: '2026-12-01', requests: 1, lastUsedAt: Date.UTC(2026, 11, 1) }],
        quotas: [{ lineageId: lineageOf(a), period: '2026-12', delta: 1 }],
      });
      assert.deepEqual((await reopened.usage.requestsByDay(a.id)).at(-1), { day: '2026-12-01', requests: 8 });
      assert.equal(await reopened.usage.quotaUsed(lineageOf(a), '2026-12'), 12);
      await reopened.keys.delete(a.id, audit('key.deleted', 'key', a.id));
      assert.deepEqual(await reopened.usage.requestsByDay(a.id), []);
      assert.equal(await reopened.usage.quotaUsed(lineageOf(a), '2026-12'), 0);
      assert.deepEqual(await reopened.usage.requestsByDay(b.id), [{ day: '2026-12-01', requests: 2 }]);
    } finally {
      await reopened.close();
    }
    const [daily] = plans(path);
    assert.match(daily!, /\(day=\? AND key_id=\?\)/);
  });
});
