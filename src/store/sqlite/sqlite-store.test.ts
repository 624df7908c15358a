import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import { newId } from '../../domain/ids.ts';
import { runStoreContract } from '../contract.ts';
import { MIGRATIONS } from './migrations.ts';
import { openSqliteStore } from './sqlite-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(dir, `store-${++files}`, 'gatehouse.db');

runStoreContract('sqlite', async () => {
  const store = openSqliteStore(freshPath());
  await store.migrate();
  return store;
});

describe('SQLite store file', () => {
  test('the first migrate on a new file runs every migration', async () => {
    const store = openSqliteStore(freshPath());
    try {
      assert.ok((await store.migrate()) > 0);
      assert.equal(await store.migrate(), 0);
    } finally {
      await store.close();
    }
  });

  test('data survives close and reopen, and reopening needs no migration', async () => {
    const path = freshPath();
    const app = { id: newId('app'), name: 'kept', owner: 'ops', metadata: { tier: 'gold' }, createdAt: 1, updatedAt: 2 };
    const first = openSqliteStore(path);
    await first.migrate();
    await first.apps.create(app, { actor: 'cli', action: 'app.created', targetType: 'app', targetId: app.id, before: null, after: null, requestId: null });
    await first.close();

    const second = openSqliteStore(path);
    try {
      assert.equal(await second.migrate(), 0);
      assert.deepEqual(await second.apps.get(app.id), app);
      assert.equal((await second.audit.list({ limit: 10, targetId: app.id })).items.length, 1);
    } finally {
      await second.close();
    }
  });

  test('the database file is in WAL journal mode', async () => {
    const path = freshPath();
    const store = openSqliteStore(path);
    await store.migrate();
    await store.close();
    const db = new DatabaseSync(path);
    try {
      assert.equal(db.prepare('PRAGMA journal_mode').get()?.journal_mode, 'wal');
    } finally {
      db.close();
    }
  });

  test('the upgrade deletes authorization records kept under their secrets, and no copy of them stays in the file', async () => {
    const path = freshPath();
    mkdirSync(dirname(path), { recursive: true });
    const secret = 'PlaintextRefreshToken_0123456789abcdefghijklm';
    const old = new DatabaseSync(path);
    old.exec('PRAGMA journal_mode = WAL; CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    for (const m of MIGRATIONS.filter((m) => m.version <= 3)) {
      old.exec(m.sql);
      old.prepare('INSERT INTO schema_migrations VALUES (?,?,?)').run(m.version, m.name, 1);
    }
    const insert = old.prepare('INSERT INTO oidc_records (model, id, payload, grant_id, account_id) VALUES (?,?,?,?,?)');
    insert.run('RefreshToken', secret, JSON.stringify({ jti: secret, kind: 'RefreshToken', grantId: 'g1' }), 'g1', 'usr_1');
    insert.run('Session', `${secret}-session`, JSON.stringify({ jti: `${secret}-session`, uid: 'u1' }), null, 'usr_1');
    old.close();

    const store = openSqliteStore(path);
    await store.migrate();
    assert.equal(await store.oidc.find('RefreshToken', secret, 0), null);
    assert.deepEqual(await store.oidc.listByAccount('Session', 'usr_1', 0), []);
    await store.close();
    for (const file of [path, `${path}-wal`]) {
      if (existsSync(file)) assert.equal(readFileSync(file).includes(secret), false, `${file} still holds the old secret`);
    }
  });
});

describe('SQLite store on the event loop', () => {
  test('polling webhook deliveries with none due does not wait for a write lock another connection holds', async () => {
    const path = freshPath();
    const store = openSqliteStore(path, { busyTimeoutMs: 200 });
    await store.migrate();
    // The writer thread's usage flush, as another connection would hold it.
    const writer = new DatabaseSync(path);
    writer.exec('BEGIN IMMEDIATE');
    try {
      const started = performance.now();
      assert.deepEqual(await store.webhooks.due(Date.now(), 10, 1000), []);
      // Waiting for the lock would take the whole busy timeout and then fail with SQLITE_BUSY.
      assert.ok(performance.now() - started < 200, 'answered without waiting for the lock');
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
      await store.close();
    }
  });
});
