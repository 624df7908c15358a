import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startPostgres, type PrivatePostgres } from '../../../test/support/postgres.ts';
import { waitFor } from '../../../test/support/wait.ts';
import { LATENCY_BUCKETS } from '../../domain/latency-histogram.ts';
import { audit, makeApp, makeKey, T0 } from '../contract/fixtures.ts';
import type { Store, UsageCell } from '../port.ts';
import { openPostgresStore } from './postgres-store.ts';

/**
 * Two nodes flush usage and analytics for the same keys at once, each batch in its own order. Rows
 * locked in batch order would deadlock (40P01, one flush aborted); in one key order the second waits.
 * A third session holds the middle row meanwhile, so both flushes are under way before either can
 * finish: the interleaving that deadlocks is then certain, not a matter of timing.
 */
let server: PrivatePostgres;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server.stop();
});

let schemas = 0;
/** Two nodes' stores on one fresh, migrated schema. */
async function twoNodes(): Promise<{ schema: string; nodes: [Store, Store] }> {
  const schema = `flush_${++schemas}`;
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.end();
  const nodes: [Store, Store] = [
    openPostgresStore({ connectionString: server.url, schema, maxConnections: 2 }),
    openPostgresStore({ connectionString: server.url, schema, maxConnections: 2 }),
  ];
  await nodes[0].migrate();
  return { schema, nodes };
}

/**
 * Runs both flushes while `holdSql` (a SELECT ... FOR UPDATE of one row) is held by a third session,
 * releases it once both wait, and answers how each flush ended.
 */
async function flushAroundHeldRow(holdSql: string, holdArgs: unknown[], flushes: () => Promise<unknown>[]): Promise<PromiseSettledResult<unknown>[]> {
  const holder = new pg.Client({ connectionString: server.url });
  const watcher = new pg.Client({ connectionString: server.url });
  await Promise.all([holder.connect(), watcher.connect()]);
  try {
    await holder.query('BEGIN');
    assert.equal((await holder.query(holdSql, holdArgs)).rowCount, 1, 'the row to hold exists');
    const running = flushes().map((p) => p.then(() => undefined));
    const settled = Promise.allSettled(running);
    // Both flushes wait for a lock (the held row, or a row the other flush holds).
    await waitFor(async () => Number((await watcher.query("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).rows[0].n) >= 2, {
      timeoutMs: 10_000,
      what: 'both flushes waiting for a lock',
    });
    await holder.query('COMMIT');
    return await settled;
  } finally {
    await Promise.all([holder.end(), watcher.end()]);
  }
}

const reasons = (results: PromiseSettledResult<unknown>[]) => results.map((r) => (r.status === 'fulfilled' ? 'written' : String(r.reason)));

describe('PostgreSQL: two nodes flushing the same keys at once', () => {
  test('usage batches naming the same keys in opposite orders are both written: rows are locked in key order, not batch order', async () => {
    const { schema, nodes } = await twoNodes();
    try {
      const app = makeApp(1);
      await nodes[0].apps.create(app, audit('app.created', 'app', app.id));
      const keys = [];
      for (let i = 0; i < 20; i++) {
        const key = makeKey(app.id);
        await nodes[0].keys.create(key, audit('key.created', 'key', key.id));
        keys.push(key);
      }
      // Uses of keys deleted meanwhile too, as a large batch has: the batch is then the larger side of
      // the join with the keys table, which PostgreSQL walks in the batch's order.
      const ids = [...keys.map((k) => k.id), ...Array.from({ length: 1000 }, (_, i) => `key_deleted_${i}`)];
      const batch = (order: string[]) => ({
        keys: order.map((keyId) => ({ keyId, day: '2026-11-29', requests: 1, lastUsedAt: T0 })),
        quotas: order.map((lineageId) => ({ lineageId, period: '2026-11', delta: 1 })),
      });
      // Each key's rows exist: the flushes below update (lock) them.
      await nodes[0].usage.record(batch(ids));
      const middle = keys[10]!;
      const results = await flushAroundHeldRow(`SELECT 1 FROM ${schema}.usage_daily WHERE key_id = $1 FOR UPDATE`, [middle.id], () => [
        nodes[0].usage.record(batch(ids)),
        nodes[1].usage.record(batch([...ids].reverse())),
      ]);
      assert.deepEqual(reasons(results), ['written', 'written']);
      for (const key of [keys[0]!, middle, keys[19]!]) {
        assert.deepEqual(await nodes[1].usage.requestsByDay(key.id), [{ day: '2026-11-29', requests: 3 }]);
        assert.equal(await nodes[1].usage.quotaUsed(key.id, '2026-11'), 3);
      }
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });

  test('usage analytics parts naming the same cells in opposite orders are both written: rows are locked in cell order', async () => {
    const { schema, nodes } = await twoNodes();
    try {
      const minute = T0 - (T0 % 60_000);
      const cells: UsageCell[] = Array.from({ length: 20 }, (_, i) => ({
        minute,
        apiId: 'api_1',
        route: '/orders',
        keyId: `key_${String(i).padStart(2, '0')}`,
        appId: 'app_1',
        statusClass: '2xx',
        denialCode: null,
        requests: 1,
        bytesIn: 1,
        bytesOut: 1,
        durationUs: 1000,
        latency: Array.from({ length: LATENCY_BUCKETS }, (_, b) => (b === 1 ? 1 : 0)),
      }));
      await nodes[0].usageAnalytics.add(cells);
      const results = await flushAroundHeldRow(
        `SELECT 1 FROM ${schema}.usage_rollups WHERE granularity = 'minute' AND bucket = $1 AND key_id = $2 FOR UPDATE`,
        [minute, 'key_10'],
        () => [nodes[0].usageAnalytics.add(cells), nodes[1].usageAnalytics.add([...cells].reverse())],
      );
      assert.deepEqual(reasons(results), ['written', 'written']);
      const rows = await nodes[1].usageAnalytics.query({
        granularity: 'hour',
        from: minute - 3_600_000,
        until: minute + 3_600_000,
        groupBy: ['key'],
        filters: {},
        perBucket: false,
        limit: 100,
      });
      assert.equal(rows.length, 20);
      assert.ok(rows.every((r) => r.requests === 3));
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });
});
