import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { StorageUnavailableError } from '../port.ts';
import { runTransaction } from './db.ts';

test("a full disk inside a transaction surfaces as StorageUnavailableError with SQLite's own error, not a ROLLBACK failure", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-db-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = new DatabaseSync(join(dir, 'full.db'));
  db.exec('PRAGMA journal_mode = WAL; CREATE TABLE t (v BLOB)');
  const pages = (db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count;
  // SQLITE_FULL for real: the database may not grow by more than a page. SQLite rolls back by itself.
  db.exec(`PRAGMA max_page_count = ${pages + 1}`);
  assert.throws(
    () => runTransaction(db, () => db.prepare('INSERT INTO t VALUES (?)').run(Buffer.alloc(100_000))),
    (error: unknown) => {
      assert.ok(error instanceof StorageUnavailableError);
      assert.match(error.message, /SQLITE_FULL: database or disk is full/);
      assert.match(String((error.cause as Error).message), /disk is full/);
      return true;
    },
  );
  assert.equal(db.isTransaction, false);
  assert.equal((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 0);
  db.close();
});

test('a lock held past the busy timeout is StorageUnavailableError (SQLITE_BUSY), and nothing is written', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-db-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'busy.db');
  const holder = new DatabaseSync(path);
  holder.exec('PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER)');
  const db = new DatabaseSync(path);
  db.exec('PRAGMA busy_timeout = 10');
  holder.exec('BEGIN EXCLUSIVE');
  assert.throws(() => runTransaction(db, () => db.prepare('INSERT INTO t VALUES (1)').run()), /SQLITE_BUSY/);
  holder.exec('ROLLBACK');
  runTransaction(db, () => db.prepare('INSERT INTO t VALUES (2)').run());
  assert.deepEqual(
    db
      .prepare('SELECT v FROM t')
      .all()
      .map((r) => r.v),
    [2],
  );
  holder.close();
  db.close();
});
