import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startPostgres, type PrivatePostgres } from '../../../test/support/postgres.ts';
import { waitFor } from '../../../test/support/wait.ts';
import type { QuotaUse } from '../../usage/port.ts';
import { UsageRecorder } from '../../usage/usage-recorder.ts';
import { audit, makeApp, makeKey, T0 } from '../contract/fixtures.ts';
import { StorageUnavailableError, type Store } from '../port.ts';
import { openPostgresStore } from './postgres-store.ts';
import { FLUSH_TURN_WAIT_MS, USAGE_OF_KEYS_LOCK } from './usage.ts';

/**
 * Usage flushes and key deletions take turns on an advisory lock (usage.ts). A turn not had within
 * FLUSH_TURN_WAIT_MS is "the store cannot work now", well before the statement timeout: a deletion
 * waiting behind a stuck flush would otherwise hold every node's flushes behind it for that long.
 * Another connection holds the lock as the stuck flush (shared) or the waiting deletion (alone) would.
 */
let server: PrivatePostgres;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server.stop();
});

/** Far longer than the turn's wait: a failure before it is the lock timeout's, not the statement's. */
const STATEMENT_TIMEOUT_MS = 20_000;

let schemas = 0;
async function withStore(run: (store: Store, holder: pg.Client) => Promise<void>): Promise<void> {
  const schema = `turn_${++schemas}`;
  const holder = new pg.Client({ connectionString: server.url });
  await holder.connect();
  await holder.query(`CREATE SCHEMA ${schema}`);
  const store = openPostgresStore({ connectionString: server.url, schema, maxConnections: 2, statementTimeoutMs: STATEMENT_TIMEOUT_MS });
  try {
    await store.migrate();
    await run(store, holder);
  } finally {
    await store.close();
    await holder.end();
  }
}

async function storedKey(store: Store) {
  const app = makeApp(1);
  await store.apps.create(app, audit('app.created', 'app', app.id));
  const key = makeKey(app.id);
  await store.keys.create(key, audit('key.created', 'key', key.id));
  return key;
}

/** How `work` failed, and after how long. */
async function failure(work: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  try {
    await work();
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
  assert.fail('expected the work to fail');
}

describe('PostgreSQL: the turn a usage flush and a key deletion take is waited for briefly', () => {
  test('a flush behind a key deletion fails fast as StorageUnavailableError and keeps its counts for the next flush', async () => {
    await withStore(async (store, holder) => {
      const key = await storedKey(store);
      const recorder = new UsageRecorder(store.usage);
      const quota: QuotaUse = { window: { id: '2026-11', start: T0, end: T0 + 86_400_000 }, limit: 100 };
      for (let i = 0; i < 3; i++) recorder.hit(key, T0 + i, quota, '192.0.2.1');
      // A deletion holding the turn (or waiting for it, which queues every flush behind it).
      await holder.query('SELECT pg_advisory_lock($1)', [USAGE_OF_KEYS_LOCK]);
      const { error, ms } = await failure(() => recorder.flush());
      await holder.query('SELECT pg_advisory_unlock($1)', [USAGE_OF_KEYS_LOCK]);
      assert.ok(error instanceof StorageUnavailableError, String(error));
      assert.match(error.message, /55P03/);
      assert.ok(ms < STATEMENT_TIMEOUT_MS / 4, `failed after ${Math.round(ms)} ms`);
      assert.ok(ms >= FLUSH_TURN_WAIT_MS * 0.9, `waited its turn a moment first (${Math.round(ms)} ms)`);
      assert.deepEqual(await store.usage.requestsByDay(key.id), [], 'nothing of the failed flush is written');
      await recorder.flush();
      assert.deepEqual(await store.usage.requestsByDay(key.id), [{ day: '2026-11-29', requests: 3 }]);
      assert.equal(await store.usage.quotaUsed(key.id, '2026-11'), 3);
      assert.deepEqual(
        (await store.keyAddresses.list(key.id, { limit: 10 })).items.map((a) => [a.address, a.requests]),
        [['192.0.2.1', 3]],
      );
    });
  });

  test('a key deletion behind a stuck flush fails fast as StorageUnavailableError and deletes nothing; flushes after it are not held up', async () => {
    await withStore(async (store, holder) => {
      const key = await storedKey(store);
      await store.usage.record({ keys: [{ keyId: key.id, day: '2026-11-29', requests: 1, lastUsedAt: T0 }], quotas: [] });
      // A flush holding its turn and not finishing.
      await holder.query('SELECT pg_advisory_lock_shared($1)', [USAGE_OF_KEYS_LOCK]);
      try {
        const deletion = failure(() => store.keys.delete(key.id, audit('key.deleted', 'key', key.id)));
        await waitFor(async () => (await holder.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).rowCount, {
          what: 'the deletion waiting for its turn',
        });
        // Another flush, queued behind the waiting deletion (and started well after it, so the
        // deletion gives up first), is written once the deletion gives up.
        await new Promise((resolve) => setTimeout(resolve, FLUSH_TURN_WAIT_MS / 2));
        const flush = store.usage.record({ keys: [{ keyId: key.id, day: '2026-11-29', requests: 1, lastUsedAt: T0 + 1 }], quotas: [] });
        const { error, ms } = await deletion;
        assert.ok(error instanceof StorageUnavailableError, String(error));
        assert.ok(ms < STATEMENT_TIMEOUT_MS / 4, `failed after ${Math.round(ms)} ms`);
        await flush;
      } finally {
        await holder.query('SELECT pg_advisory_unlock_shared($1)', [USAGE_OF_KEYS_LOCK]);
      }
      assert.ok(await store.keys.get(key.id), 'the key is still there');
      assert.deepEqual(await store.usage.requestsByDay(key.id), [{ day: '2026-11-29', requests: 2 }]);
      assert.equal(await store.keys.delete(key.id, audit('key.deleted', 'key', key.id)), true);
      assert.deepEqual(await store.usage.requestsByDay(key.id), []);
    });
  });
});
