import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startPostgres, type PrivatePostgres } from '../../../test/support/postgres.ts';
import { runStoreContract } from '../contract.ts';
import { ConflictError, StorageUnavailableError } from '../port.ts';
import { audit, makeApp } from '../contract/fixtures.ts';
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
});
