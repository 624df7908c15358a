import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startPostgres, type PrivatePostgres } from '../../../test/support/postgres.ts';
import { waitFor } from '../../../test/support/wait.ts';
import { newId } from '../../domain/ids.ts';
import { audit, makeApp, makeKey, T0 } from '../contract/fixtures.ts';
import { makeEndpoint } from '../contract/webhooks.ts';
import type { Store } from '../port.ts';
import { openPostgresStore } from './postgres-store.ts';

/**
 * Retention deletes rows a subquery picked from its snapshot. A row another transaction changes
 * meanwhile (so that it no longer qualifies) is deleted anyway unless the DELETE's own WHERE says
 * why it goes: PostgreSQL re-checks only that against the row's new version (READ COMMITTED), not
 * the subquery. Another connection holds the change uncommitted until retention waits for it, so
 * the interleaving is certain. (SQLite writes one transaction at a time: there it cannot happen.)
 */
let server: PrivatePostgres;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server.stop();
});

const DAY = 86_400_000;

let schemas = 0;
async function withStore(run: (store: Store, holder: pg.Client) => Promise<void>): Promise<void> {
  const schema = `retention_${++schemas}`;
  const holder = new pg.Client({ connectionString: server.url, options: `-c search_path=${schema}` });
  await holder.connect();
  await holder.query(`CREATE SCHEMA ${schema}`);
  const store = openPostgresStore({ connectionString: server.url, schema, maxConnections: 2 });
  try {
    await store.migrate();
    await run(store, holder);
  } finally {
    await store.close();
    await holder.end();
  }
}

/** Runs `retention` while `holder` has changed a row it would delete, commits once it waits, and answers what it returned. */
async function retentionAroundChange(holder: pg.Client, change: () => Promise<unknown>, retention: () => Promise<number>): Promise<number> {
  await holder.query('BEGIN');
  try {
    await change();
    const deleting = retention();
    await waitFor(async () => (await holder.query("SELECT 1 FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted")).rowCount, {
      what: 'retention waiting for the changed row',
    });
    await holder.query('COMMIT');
    return await deleting;
  } catch (error) {
    await holder.query('ROLLBACK');
    throw error;
  }
}

describe('PostgreSQL retention and a concurrent change of the row it picked', () => {
  test("a key's address seen again by a flush while retention deletes it keeps its new use", async () => {
    await withStore(async (store, holder) => {
      const app = makeApp(1);
      await store.apps.create(app, audit('app.created', 'app', app.id));
      const key = makeKey(app.id);
      await store.keys.create(key, audit('key.created', 'key', key.id));
      const old = { keyId: key.id, address: '192.0.2.1', firstSeen: T0 - 100 * DAY, lastSeen: T0 - 100 * DAY, requests: 1 };
      await store.usage.record({ keys: [], quotas: [], addresses: [old] });
      // A flush adding today's use of that address (its upsert's update), committed while retention waits.
      const deleted = await retentionAroundChange(
        holder,
        () =>
          holder.query('UPDATE key_addresses SET last_seen = GREATEST(last_seen, $3), requests = requests + 1 WHERE key_id = $1 AND address = $2', [
            key.id,
            old.address,
            T0,
          ]),
        () => store.keyAddresses.deleteSeenBefore(T0 - 90 * DAY, 100),
      );
      assert.equal(deleted, 0);
      assert.deepEqual(
        (await store.keyAddresses.list(key.id, { limit: 10 })).items.map((a) => [a.address, a.lastSeen, a.requests]),
        [[old.address, T0, 2]],
      );
    });
  });

  test('a finished webhook delivery replayed while retention deletes it stays, pending', async () => {
    await withStore(async (store, holder) => {
      const endpoint = makeEndpoint();
      await store.webhooks.create(endpoint, audit('webhook.created', 'webhook', endpoint.id));
      const [event] = await store.events.append([{ type: 'key.created', data: { n: 1 } }]);
      const delivery = {
        id: newId('delivery', T0),
        endpointId: endpoint.id,
        eventId: event!.id,
        eventType: event!.type,
        eventAt: event!.at,
        status: 'pending' as const,
        attempts: 0,
        nextAttemptAt: T0,
        lastAttemptAt: null,
        createdAt: T0,
      };
      await store.webhooks.enqueue([delivery], event!.seq);
      await store.webhooks.recordAttempt(
        { deliveryId: delivery.id, at: T0, statusCode: 500, error: null, durationMs: 1, responseExcerpt: null },
        { status: 'failed', nextAttemptAt: null },
      );
      // An admin's replay (its UPDATE), committed while retention waits.
      const deleted = await retentionAroundChange(
        holder,
        () => holder.query("UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1 WHERE id = $2", [T0 + 40 * DAY, delivery.id]),
        () => store.webhooks.deleteFinishedBefore(T0 + 30 * DAY, 100),
      );
      assert.equal(deleted, 0);
      assert.equal((await store.webhooks.getDelivery(delivery.id))?.status, 'pending');
    });
  });
});
