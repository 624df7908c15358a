import { STORE_COMPONENT, type Store } from '../port.ts';
import type { HealthReporter } from '../../telemetry/health.ts';
import { adminKeyRepo } from './admin-keys.ts';
import { apiRepo } from './apis.ts';
import { appRepo } from './apps.ts';
import { auditRepo } from './audit.ts';
import { clientRepo } from './clients.ts';
import { pgDb, pgMigrationClient, pgPool, type PgPoolOptions } from './db.ts';
import { eventOutboxRepo } from './events.ts';
import { exchangedTokenRepo } from './exchanged-tokens.ts';
import { keyAddressRepo } from './key-addresses.ts';
import { keyRepo } from './keys.ts';
import { keyRotationRepo } from './key-rotation.ts';
import { PG_MIGRATIONS } from './migrations.ts';
import { oidcRepo } from './oidc.ts';
import { policyRepo } from './policies.ts';
import { requestLogRepo } from './request-log.ts';
import { revocationRepo } from './revocations.ts';
import { consoleSessionRepo } from './console-sessions.ts';
import { apiDocumentRepo } from './api-documents.ts';
import { signingKeyRepo } from './signing-keys.ts';
import { usageAnalyticsRepo } from './usage-analytics.ts';
import { usageRepo } from './usage.ts';
import { userRepo } from './users.ts';
import { webhookRepo } from './webhooks.ts';

export interface PostgresStoreOptions extends PgPoolOptions {
  /** Told when statements fail for want of the database (`store` failed) and when a write commits again (`store` ok). */
  health?: HealthReporter;
  /** Stamps audit entries and migrations. */
  clock?: () => number;
}

/** The advisory lock `migrate` holds, so nodes starting together apply each migration once, in turn. */
const MIGRATION_LOCK = 0x6761746568; // "gateh"

/**
 * The store on PostgreSQL (node-postgres, pooled): the same repositories as the SQLite adapter, one
 * file each beside this one, passing the same contract suites.
 */
export function openPostgresStore(options: PostgresStoreOptions): Store {
  const pool = pgPool(options);
  // An idle connection that fails (the server restarted) is dropped by the pool; without a listener
  // its 'error' event would end the process. The next statement reports the outage if it lasts.
  pool.on('error', (error) => options.health?.failed(STORE_COMPONENT, error));
  const db = pgDb(pool, {
    clock: options.clock ?? Date.now,
    committed: () => options.health?.ok(STORE_COMPONENT),
    failed: (error) => options.health?.failed(STORE_COMPONENT, error),
  });
  return {
    apis: apiRepo(db),
    apps: appRepo(db),
    policies: policyRepo(db),
    keys: keyRepo(db),
    adminKeys: adminKeyRepo(db),
    audit: auditRepo(db),
    usage: usageRepo(db),
    keyAddresses: keyAddressRepo(db),
    users: userRepo(db),
    clients: clientRepo(db),
    signingKeys: signingKeyRepo(db),
    oidc: oidcRepo(db),
    revocations: revocationRepo(db),
    consoleSessions: consoleSessionRepo(db),
    apiDocuments: apiDocumentRepo(db),
    requestLog: requestLogRepo(db),
    usageAnalytics: usageAnalyticsRepo(db),
    events: eventOutboxRepo(db),
    exchangedTokens: exchangedTokenRepo(db),
    keyRotation: keyRotationRepo(db),
    webhooks: webhookRepo(db),
    async migrate() {
      // A connection of its own holds the session lock for the whole run: other nodes wait, then find
      // nothing to do. Ending it releases the lock, whatever happened on the way.
      const client = pgMigrationClient(options);
      const onError = (error: Error) => options.health?.failed(STORE_COMPONENT, error);
      client.on('error', onError);
      await client.connect();
      try {
        // Whatever the server's default for the role: a migration is not cut short (db.ts pgMigrationClient).
        await client.query('SET statement_timeout = 0');
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
        await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
        const applied = new Set((await client.query('SELECT version FROM schema_migrations')).rows.map((r: { version: number }) => Number(r.version)));
        let ran = 0;
        for (const migration of PG_MIGRATIONS) {
          if (applied.has(migration.version)) continue;
          await client.query('BEGIN');
          try {
            await client.query(migration.sql);
            await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
              migration.version,
              migration.name,
              db.clock(),
            ]);
            await client.query('COMMIT');
          } catch (error) {
            // On a connection that failed mid-migration ROLLBACK fails too: reported, and the migration's own error thrown.
            await client.query('ROLLBACK').catch(onError);
            throw error;
          }
          ran++;
        }
        return ran;
      } finally {
        // A connection that already failed ends at once; a failure to end it is reported, not thrown over the run's own outcome.
        await client.end().catch(onError);
      }
    },
    async ping() {
      // On the pool directly: a probe's failure is the probe's to report, not the store component's.
      await pool.query('SELECT 1');
    },
    async close() {
      await pool.end();
    },
  };
}
