import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import { newId } from '../../domain/ids.ts';
import { runStoreContract } from '../contract.ts';
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
});
