import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import { StorageUnavailableError, type RequestLogEntry } from '../port.ts';
import { entryBatch } from '../entry-batch.ts';
import { makeRequestLogEntry } from '../contract/fixtures.ts';
import { MIGRATIONS } from './migrations.ts';
import { openSqliteStore } from './sqlite-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sqlite-request-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const DAY = 86_400_000;
const DAY0 = Date.UTC(2026, 10, 20);

const entry = (at: number, requestId: string): RequestLogEntry => makeRequestLogEntry({ at, requestId, path: `/orders/${requestId}` });

async function withStore(work: (store: Awaited<ReturnType<typeof opened>>) => Promise<void>): Promise<void> {
  const path = join(dir, `store-${++files}.db`);
  const store = await opened(path);
  try {
    await work(store);
  } finally {
    await store.close();
  }
}
async function opened(path: string) {
  const store = openSqliteStore(path);
  await store.migrate();
  return store;
}
const readAll = async (store: Awaited<ReturnType<typeof opened>>) => (await store.requestLog.query({}, { limit: 1000 })).items.map((e) => e.requestId);

describe('the request log on SQLite keeps the batches it is given', () => {
  test('retention deletes a batch whole, once all of it is from before the day, even when it alone holds more than the limit', async () => {
    await withStore(async (store) => {
      const big = Array.from({ length: 5 }, (_, i) => entry(DAY0 + i, `big-${i}`));
      const straddling = [entry(DAY0 + DAY - 1, 'late-day-0'), entry(DAY0 + DAY, 'day-1')];
      await store.requestLog.append(entryBatch(big));
      await store.requestLog.append(entryBatch(straddling));
      assert.equal(await store.requestLog.deleteBefore('2026-11-21', 3), 5);
      assert.equal(await store.requestLog.deleteBefore('2026-11-21', 3), 0, 'a batch with an entry of the day is kept whole');
      assert.deepEqual(await readAll(store), ['day-1', 'late-day-0']);
      assert.equal(await store.requestLog.deleteBefore('2026-11-22', 3), 2);
      assert.deepEqual(await readAll(store), []);
    });
  });

  test('a batch the engine cannot write now fails as StorageUnavailableError (kept for the next flush), not as a refusal', async () => {
    const path = join(dir, `store-${++files}.db`);
    await (await opened(path)).close();
    const store = openSqliteStore(path, { busyTimeoutMs: 20 });
    const other = new DatabaseSync(path);
    try {
      other.exec('BEGIN IMMEDIATE');
      await assert.rejects(store.requestLog.append(entryBatch([entry(DAY0, 'a')])), StorageUnavailableError);
      other.exec('ROLLBACK');
      await store.requestLog.append(entryBatch([entry(DAY0, 'a')]));
      assert.deepEqual(await readAll(store), ['a']);
    } finally {
      other.close();
      await store.close();
    }
  });

  test('bytes no batch writer made are refused, and nothing is stored', async () => {
    await withStore(async (store) => {
      const good = entryBatch([entry(DAY0, 'a'), entry(DAY0 + 1, 'b')]);
      for (const bad of [
        { bytes: good.bytes.subarray(0, good.bytes.length - 3), entries: 2 },
        { bytes: good.bytes, entries: 3 },
        { bytes: good.bytes, entries: 1 },
        { bytes: Uint8Array.of(7, 0, 0), entries: 1 },
        // More entries than an id can number within one batch: refused before its bytes are read.
        { bytes: good.bytes, entries: 2 ** 21 + 1 },
      ])
        await assert.rejects(store.requestLog.append(bad), /request-log batch/);
      assert.deepEqual(await readAll(store), []);
    });
  });

  test('migration 18 moves the rows of a request log kept one per request into batches: the same entries, in the same order', async () => {
    const path = join(dir, `store-${++files}.db`);
    await (await opened(path)).close();
    {
      // The file as migration 17 left it: the request_log table of migration 6, with rows.
      const db = new DatabaseSync(path);
      db.exec(`DROP TABLE request_log_batches; DELETE FROM schema_migrations WHERE version = 18; ${MIGRATIONS.find((m) => m.version === 6)!.sql}`);
      const insert = db.prepare(
        'INSERT INTO request_log (at, request_id, method, path, status, duration_ms, upstream_ms, bytes_in, bytes_out, key_id, address, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      for (let i = 0; i < 1201; i++)
        insert.run(DAY0 + (i % 7), `old-${i}`, 'GET', `/x/${i}`, 200 + (i % 3), 1.5, null, 0, 10, i % 2 ? 'key_1' : null, '192.0.2.9', null);
      db.close();
      const reopened = await opened(path);
      try {
        const entries = (await reopened.requestLog.query({}, { limit: 2000 })).items;
        assert.equal(entries.length, 1201);
        const expected = Array.from({ length: 1201 }, (_, i) => i).sort((a, b) => (b % 7) - (a % 7) || b - a);
        assert.deepEqual(
          entries.map((e) => e.requestId),
          expected.map((i) => `old-${i}`),
        );
        assert.deepEqual(
          entries.find((e) => e.requestId === 'old-5'),
          {
            ...entry(DAY0 + 5, 'old-5'),
            apiId: null,
            api: null,
            route: null,
            path: '/x/5',
            status: 202,
            upstreamMs: null,
            bytesOut: 10,
            appId: null,
            userAgent: null,
            address: '192.0.2.9',
          },
        );
        const check = new DatabaseSync(path);
        const tables = check.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'request_log%'").all();
        check.close();
        assert.deepEqual(
          tables.map((t) => t.name),
          ['request_log_batches'],
        );
      } finally {
        await reopened.close();
      }
    }
  });
});
