import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { STORE_COMPONENT, StorageUnavailableError, type Store } from '../port.ts';
import type { HealthReporter } from '../../telemetry/health.ts';
import { adminKeyRepo } from './admin-keys.ts';
import { apiRepo } from './apis.ts';
import { appRepo } from './apps.ts';
import { auditRepo } from './audit.ts';
import { clientRepo } from './clients.ts';
import { classify, sqliteDb } from './db.ts';
import { eventOutboxRepo } from './events.ts';
import { exchangedTokenRepo } from './exchanged-tokens.ts';
import { keyAddressRepo } from './key-addresses.ts';
import { keyRotationRepo } from './key-rotation.ts';
import { keyRepo } from './keys.ts';
import { MIGRATIONS } from './migrations.ts';
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

/**
 * The embedded store on node:sqlite: one connection, the repositories (one file each, beside this
 * one) assembled over it, migrations and close. Calls are synchronous underneath and complete before
 * the returned promise settles, so each method's transaction never spans an `await`.
 */
export interface SqliteStoreOptions {
  /** How long a write waits for another connection's lock (SQLite's busy timeout). */
  busyTimeoutMs?: number;
  /** Told when writes fail for want of storage (`store` failed) and when one commits again (`store` ok). */
  health?: HealthReporter;
  /** Stamps audit entries and migrations; Gatehouse passes its own, so tests that move time see it here too. */
  clock?: () => number;
}

export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Store {
  if (path !== ':memory:') ownerOnly(path);
  const connection = new DatabaseSync(path);
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new Error('busyTimeoutMs must be a non-negative integer');
  // secure_delete: deleted rows are overwritten, so a copy of the file holds no remnant of them.
  connection.exec(
    `PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = ${busyTimeoutMs}; PRAGMA secure_delete = ON;`,
  );
  const db = sqliteDb(connection, { clock: options.clock ?? Date.now, committed: () => options.health?.ok(STORE_COMPONENT) });

  return {
    ...classifyingErrors(
      {
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
      },
      options.health,
    ),
    async migrate() {
      connection.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
      const applied = new Set(
        db
          .sql('SELECT version FROM schema_migrations')
          .all()
          .map((r) => Number(r.version)),
      );
      let ran = 0;
      for (const migration of MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        // Read again under the write lock: another process on this file (node.singleMachine) may have applied it since.
        const applies = db.transaction(() => {
          if (db.sql('SELECT 1 FROM schema_migrations WHERE version = ?').get(migration.version)) return false;
          connection.exec(migration.sql);
          migration.data?.(connection);
          db.sql('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?,?,?)').run(migration.version, migration.name, db.clock());
          return true;
        });
        if (applies) ran++;
      }
      // What a migration deleted must not linger in the write-ahead log either.
      if (ran > 0) connection.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      return ran;
    },
    async ping() {
      connection.prepare('SELECT 1').get();
    },
    async close() {
      connection.close();
    },
  };
}

/**
 * The database holds hashes, sealed secrets and personal data: its directory is made 0700 and the file
 * 0600 before SQLite opens it (SQLite gives the -wal and -shm files the database file's mode). A file
 * of ours that others may read is tightened; one owned by someone else is left to its owner.
 */
function ownerOnly(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (!existsSync(file)) continue;
    const stat = statSync(file);
    if ((stat.mode & 0o077) !== 0 && stat.uid === process.getuid?.()) chmodSync(file, 0o600);
  }
}

/**
 * Every repository method, with the engine's failures classified the same way as inside a
 * transaction: single-statement writes and reads fail as StorageUnavailableError too.
 */
function classifyingErrors<R extends Record<string, object>>(repos: R, health: HealthReporter | undefined): R {
  const out: Record<string, object> = {};
  for (const [name, repo] of Object.entries(repos)) {
    const wrapped: Record<string, unknown> = {};
    for (const [method, fn] of Object.entries(repo)) {
      wrapped[method] =
        typeof fn !== 'function'
          ? fn
          : async (...args: unknown[]) => {
              try {
                return await (fn as (...a: unknown[]) => unknown).apply(repo, args);
              } catch (error) {
                const classified = classify(error);
                if (classified instanceof StorageUnavailableError) health?.failed(STORE_COMPONENT, classified);
                throw classified;
              }
            };
    }
    out[name] = wrapped;
  }
  return out as R;
}
