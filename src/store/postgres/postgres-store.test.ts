import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startPostgres, type PrivatePostgres } from '../../../test/support/postgres.ts';
import { waitFor } from '../../../test/support/wait.ts';
import { runStoreContract } from '../contract.ts';
import { ConflictError, StorageUnavailableError, type Store } from '../port.ts';
import { audit, makeApp, makeKey, T0 } from '../contract/fixtures.ts';
import { PG_MIGRATIONS } from './migrations.ts';
import { openPostgresStore } from './postgres-store.ts';

let server: PrivatePostgres;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server.stop();
});

let schemas = 0;
/** A fresh, empty schema per store: each test sees a database of its own, on one server. */
async function freshSchema(): Promise<string> {
  const schema = `contract_${++schemas}`;
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.end();
  return schema;
}

// The contract's stores share one migrated schema, emptied before each test: a schema and its
// migrations per test would cost more than the tests themselves.
let contractSchema: string | null = null;
runStoreContract('postgres', async () => {
  const fresh = contractSchema === null;
  contractSchema ??= await freshSchema();
  const store = openPostgresStore({ connectionString: server.url, schema: contractSchema, maxConnections: 4 });
  if (fresh) await store.migrate();
  else await emptyTables(contractSchema);
  return store;
});

async function emptyTables(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename <> 'schema_migrations'", [
      schema,
    ]);
    await client.query(`TRUNCATE ${rows.map((r) => `${schema}.${r.tablename}`).join(', ')} RESTART IDENTITY CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * A store on a fresh, migrated schema and a plain connection beside it, for what an older node (or the
 * test) does in SQL; both closed after `run`.
 */
async function withStoreBeside(run: (s: { store: Store; client: pg.Client; schema: string }) => Promise<void>): Promise<void> {
  const schema = await freshSchema();
  const store = openPostgresStore({ connectionString: server.url, schema, maxConnections: 2 });
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    await store.migrate();
    await run({ store, client, schema });
  } finally {
    await client.end();
    await store.close();
  }
}

async function storedKey(store: Store) {
  const app = makeApp(1);
  await store.apps.create(app, audit('app.created', 'app', app.id));
  const key = makeKey(app.id);
  await store.keys.create(key, audit('key.created', 'key', key.id));
  return { app, key };
}

describe('PostgreSQL store', () => {
  test('nodes migrating at once apply each migration once', async () => {
    const schema = await freshSchema();
    const stores = [1, 2, 3].map(() => openPostgresStore({ connectionString: server.url, schema, maxConnections: 2 }));
    try {
      const ran = await Promise.all(stores.map((s) => s.migrate()));
      assert.equal(
        ran.reduce((a, b) => a + b, 0),
        ran.find((n) => n > 0),
      );
      assert.equal(ran.filter((n) => n > 0).length, 1);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  test('migrations are not cut short by the statement timeout requests run under', async () => {
    // Creating the schema takes far longer than 1 ms: under that timeout it would be cancelled, and the
    // node could not start (so would a migration rewriting a large table under the 5 s default).
    const store = openPostgresStore({ connectionString: server.url, schema: await freshSchema(), maxConnections: 1, statementTimeoutMs: 1 });
    try {
      assert.ok((await store.migrate()) > 0);
    } finally {
      await store.close();
    }
  });

  test('a unique violation is a ConflictError and writes nothing', async () => {
    const store = openPostgresStore({ connectionString: server.url, schema: await freshSchema() });
    try {
      await store.migrate();
      const app = makeApp(1);
      await store.apps.create(app, audit('app.created', 'app', app.id));
      await assert.rejects(store.apps.create(app, audit('app.created', 'app', app.id)), ConflictError);
      assert.equal((await store.audit.list({ limit: 10 })).items.length, 1);
    } finally {
      await store.close();
    }
  });

  test("while an older node still writes a key's last use into the key's row, the later of that and key_last_use is read, and a draining key's row is still written", async () => {
    await withStoreBeside(async ({ store, client, schema }) => {
      const { app, key } = await storedKey(store);
      const use = (at: number, from: string) =>
        store.usage.record({ keys: [{ keyId: key.id, day: '2026-11-29', requests: 1, lastUsedAt: at, lastUsedFrom: from }], quotas: [] });
      // What an older node writes: the key's own columns, and nothing else.
      const olderNode = (at: number, from: string) =>
        client.query(`UPDATE ${schema}.keys SET last_used_at = $1, last_used_from = $2 WHERE id = $3`, [at, from, key.id]);
      await use(T0 + 10, '192.0.2.1');
      const { rows } = await client.query(`SELECT data->'lastUsedAt' AS in_json, last_used_at FROM ${schema}.keys WHERE id = $1`, [key.id]);
      assert.deepEqual(rows[0], { in_json: null, last_used_at: null }, "a flush leaves the key's row as it was");
      await olderNode(T0 + 20, '192.0.2.2');
      assert.deepEqual(await lastUse(key.id), { at: T0 + 20, from: '192.0.2.2' });
      await use(T0 + 30, '192.0.2.3');
      assert.deepEqual(await lastUse(key.id), { at: T0 + 30, from: '192.0.2.3' });
      await olderNode(T0 + 40, '192.0.2.4');
      await store.usage.record({ keys: [{ keyId: key.id, day: '2026-11-29', requests: 1, lastUsedAt: T0 + 50 }], quotas: [] });
      assert.deepEqual(await lastUse(key.id), { at: T0 + 50, from: '192.0.2.4' }, 'a use without an address keeps the last one known, whichever node wrote it');
      // A draining key's own columns are still written: an older node decides from them that it is drained.
      const draining = makeKey(app.id, { retireWhenDrained: { quietPeriodSeconds: 600, rotatedAt: T0 }, replacedBy: 'key_next' });
      await store.keys.create(draining, audit('key.created', 'key', draining.id));
      await store.usage.record({ keys: [{ keyId: draining.id, day: '2026-11-29', requests: 1, lastUsedAt: T0 + 60, lastUsedFrom: '192.0.2.6' }], quotas: [] });
      const own = await client.query(`SELECT last_used_at, last_used_from FROM ${schema}.keys WHERE id = $1`, [draining.id]);
      assert.deepEqual(own.rows[0], { last_used_at: String(T0 + 60), last_used_from: '192.0.2.6' });
      assert.equal(await store.keys.delete(key.id, audit('key.deleted', 'key', key.id)), true);
      assert.equal((await client.query(`SELECT 1 FROM ${schema}.key_last_use WHERE key_id = $1`, [key.id])).rowCount, 0);

      async function lastUse(keyId: string) {
        const read = await store.keys.findByHash((await store.keys.get(keyId))!.hash);
        const listed = (await store.keys.list({ limit: 10, now: T0 } as never)).items[0];
        assert.equal(listed?.lastUsedAt, read?.lastUsedAt);
        return { at: read?.lastUsedAt, from: read?.lastUsedFrom };
      }
    });
  });

  test("a usage flush changes no indexed column of a key's address row within a day, and an older node's rows still age out", async () => {
    await withStoreBeside(async ({ store, client, schema }) => {
      // What a flush changes (first_seen, last_seen, requests) must be in no index, or every update
      // writes new index entries and cannot stay on its page (HOT). seen_day changes once a day.
      const { rows } = await client.query<{ attname: string }>(
        `SELECT DISTINCT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
         WHERE i.indrelid = '${schema}.key_addresses'::regclass ORDER BY a.attname`,
      );
      assert.deepEqual(
        rows.map((r) => r.attname),
        ['address', 'key_id', 'seen_day'],
      );
      const { key } = await storedKey(store);
      const DAY = 86_400_000;
      // An older node inserts without seen_day: the column is generated, so retention still finds its row.
      await client.query(`INSERT INTO ${schema}.key_addresses (key_id, address, first_seen, last_seen, requests) VALUES ($1, '192.0.2.1', $2, $2, 1)`, [
        key.id,
        T0 - 40 * DAY,
      ]);
      await store.usage.record({
        keys: [],
        quotas: [],
        addresses: [{ keyId: key.id, address: '192.0.2.2', firstSeen: T0 - DAY, lastSeen: T0 - DAY, requests: 1 }],
      });
      // A later use the same day as the cut: the row stays, as its last use is after it.
      await store.usage.record({ keys: [], quotas: [], addresses: [{ keyId: key.id, address: '192.0.2.2', firstSeen: T0, lastSeen: T0, requests: 1 }] });
      assert.equal(await store.keyAddresses.deleteSeenBefore(T0 - 1, 100), 1);
      assert.deepEqual(
        (await store.keyAddresses.list(key.id, { limit: 10 })).items.map((u) => [u.address, u.requests]),
        [['192.0.2.2', 2]],
      );
    });
  });

  test("migrating deletes the usage rows of keys deleted while a flush was under way (an older node's race), and keeps every other", async () => {
    const schema = await freshSchema();
    const client = new pg.Client({ connectionString: server.url, options: `-c search_path=${schema}` });
    await client.connect();
    const store = openPostgresStore({ connectionString: server.url, schema, maxConnections: 2 });
    try {
      // The schema as version 9 left it, as a node of that release migrated it.
      await client.query('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
      for (const migration of PG_MIGRATIONS.filter((m) => m.version <= 9)) {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, T0]);
      }
      const app = makeApp(1);
      await store.apps.create(app, audit('app.created', 'app', app.id));
      const kept = makeKey(app.id);
      // A rotated key's lineage outlives the key it was named after: its quota use stays.
      const gone = makeKey(app.id);
      const successor = makeKey(app.id, { rotatedFrom: gone.id, lineageId: gone.id });
      for (const key of [kept, gone, successor]) await store.keys.create(key, audit('key.created', 'key', key.id));
      const uses = (keys: (typeof kept)[]) => ({
        keys: keys.map((k) => ({ keyId: k.id, day: '2026-11-29', requests: 1, lastUsedAt: T0, lastUsedFrom: '192.0.2.1' })),
        quotas: [kept, gone].map((k) => ({ lineageId: k.id, period: '2026-11', delta: 1 })),
        addresses: keys.map((k) => ({ keyId: k.id, address: '192.0.2.1', firstSeen: T0, lastSeen: T0, requests: 1 })),
      });
      await store.usage.record(uses([kept, gone, successor]));
      assert.equal(await store.keys.delete(gone.id, audit('key.deleted', 'key', gone.id)), true);
      // What a flush racing a deletion left: rows of a key (and a lineage) that no longer exist.
      const orphan = 'key_deleted_meanwhile';
      await client.query("INSERT INTO usage_daily (key_id, day, requests) VALUES ($1, '2026-11-29', 5), ($1, '2026-11-30', 2)", [orphan]);
      await client.query('INSERT INTO key_last_use (key_id, used_at, used_from) VALUES ($1, $2, NULL)', [orphan, T0]);
      await client.query("INSERT INTO key_addresses (key_id, address, first_seen, last_seen, requests) VALUES ($1, '192.0.2.9', $2, $2, 5)", [orphan, T0]);
      await client.query("INSERT INTO quota_usage (key_id, period, used) VALUES ($1, '2026-11', 7)", [orphan]);
      const count = async (table: string) => Number((await client.query(`SELECT count(*) AS n FROM ${table} WHERE key_id = $1`, [orphan])).rows[0].n);

      await store.migrate();

      for (const table of ['usage_daily', 'key_last_use', 'key_addresses', 'quota_usage']) assert.equal(await count(table), 0, table);
      for (const key of [kept, successor]) {
        assert.deepEqual(await store.usage.requestsByDay(key.id), [{ day: '2026-11-29', requests: 1 }]);
        assert.equal((await store.keys.get(key.id))?.lastUsedAt, T0);
        assert.equal((await store.keyAddresses.list(key.id, { limit: 10 })).items.length, 1);
      }
      assert.equal(await store.usage.quotaUsed(kept.id, '2026-11'), 1);
      assert.equal(await store.usage.quotaUsed(gone.id, '2026-11'), 1, "the lineage's quota use stays with its remaining key");
    } finally {
      await client.end();
      await store.close();
    }
  });

  test('a rotation notice for a key deleted while it is recorded is not recorded: false, as for a key already gone, not a conflict', async () => {
    await withStoreBeside(async ({ store, client, schema }) => {
      const { key } = await storedKey(store);
      const due = T0 + 30 * 86_400_000;
      const event = { type: 'key.rotation_due' as const, data: { keyId: key.id }, dedupeKey: `rotation_due:${key.id}:${due}` };
      // The key's deletion, committed once the notice's write waits for its row.
      await client.query('BEGIN');
      try {
        await client.query(`DELETE FROM ${schema}.keys WHERE id = $1`, [key.id]);
        const recording = store.keyRotation.recordNotice(key.id, { dueAt: due, at: T0 }, event).then(
          (recorded) => ({ recorded }),
          (error: unknown) => ({ error }),
        );
        await waitFor(async () => (await client.query("SELECT 1 FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted")).rowCount, {
          what: "the notice waiting for the key's row",
        });
        await client.query('COMMIT');
        assert.deepEqual(await recording, { recorded: false });
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
      assert.equal((await client.query(`SELECT 1 FROM ${schema}.key_rotation_notices`)).rowCount, 0);
      assert.deepEqual(await store.events.after(0, 10), []);
    });
  });

  test('a server that cannot be reached is StorageUnavailableError, reported to health', async () => {
    const failures: unknown[] = [];
    const url = new URL(server.url);
    url.port = '1';
    const store = openPostgresStore({
      connectionString: url.toString(),
      connectTimeoutMs: 1000,
      health: { ok: () => undefined, failed: (_component: string, error: unknown) => void failures.push(error) } as never,
    });
    try {
      await assert.rejects(store.apps.get('app_x'), StorageUnavailableError);
      assert.ok(failures.length >= 1);
    } finally {
      await store.close();
    }
  });

  test('an I/O error or corrupted data the server reports (58030, XX001) is StorageUnavailableError, reported to health', async () => {
    const schema = await freshSchema();
    const failures: unknown[] = [];
    const store = openPostgresStore({
      connectionString: server.url,
      schema,
      maxConnections: 2,
      health: { ok: () => undefined, failed: (_component: string, error: unknown) => void failures.push(error) } as never,
    });
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      await store.migrate();
      // The server's own I/O failure cannot be caused on demand; a trigger raising its SQLSTATE stands in for it.
      let n = 0;
      for (const code of ['58030', 'XX001']) {
        await client.query(
          `CREATE OR REPLACE FUNCTION ${schema}.fail_io() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION USING ERRCODE = '${code}'; END $$`,
        );
        await client.query(`CREATE OR REPLACE TRIGGER fail_io BEFORE INSERT ON ${schema}.apps FOR EACH ROW EXECUTE FUNCTION ${schema}.fail_io()`);
        const app = makeApp(++n);
        await assert.rejects(store.apps.create(app, audit('app.created', 'app', app.id)), (error: unknown) => {
          assert.ok(error instanceof StorageUnavailableError, String(error));
          assert.match(error.message, new RegExp(code));
          return true;
        });
        assert.equal(failures.length, n, `${code} reported to health`);
      }
    } finally {
      await client.end();
      await store.close();
    }
  });

  test("a server whose name does not resolve (the resolver's outage, a failover's record not there yet) is StorageUnavailableError too", async () => {
    const failures: unknown[] = [];
    const url = new URL(server.url);
    // RFC 6761: never resolves (ENOTFOUND; EAI_AGAIN where no resolver answers).
    url.hostname = 'gatehouse-store.invalid';
    const store = openPostgresStore({
      connectionString: url.toString(),
      connectTimeoutMs: 1000,
      health: { ok: () => undefined, failed: (_component: string, error: unknown) => void failures.push(error) } as never,
    });
    try {
      await assert.rejects(store.apps.get('app_x'), StorageUnavailableError);
      await assert.rejects(store.keys.delete('key_x', audit('key.deleted', 'key', 'key_x')), StorageUnavailableError);
      assert.equal(failures.length, 2);
    } finally {
      await store.close();
    }
  });
});
