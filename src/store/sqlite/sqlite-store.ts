import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import {
  lineageOf,
  type AdminKey,
  type Api,
  type ApiKey,
  type App,
  type AuditEntry,
  type AuditInput,
  type OAuthClient,
  type Policy,
  type SigningKey,
  type User,
} from '../../domain/entities.ts';
import { newId } from '../../domain/ids.ts';
import {
  StorageUnavailableError,
  type AdminKeyRepo,
  type AuditQuery,
  type AuditRepo,
  type KeyListQuery,
  type KeyRepo,
  type NamedEntityRepo,
  type NamedPageQuery,
  type OidcModelRepo,
  type OidcPayload,
  type OidcRecord,
  type Page,
  type PageQuery,
  REQUEST_LOG_FIELDS,
  type RequestLogEntry,
  type RequestLogFilters,
  type RequestLogRepo,
  type RevocationRepo,
  type Store,
  type UsageBatch,
  type UsageRepo,
} from '../port.ts';
import type { HealthReporter } from '../../telemetry/health.ts';
import { classify, runTransaction } from './db.ts';
import { keyAddressRepo, recordKeyAddresses } from './key-addresses.ts';
import { MIGRATIONS } from './migrations.ts';

/**
 * The embedded store on node:sqlite. Calls are synchronous underneath and complete before the
 * returned promise settles, so each method's transaction never spans an `await`.
 */
export interface SqliteStoreOptions {
  /** How long a write waits for another connection's lock (SQLite's busy timeout). */
  busyTimeoutMs?: number;
  /** Told when writes fail for want of storage (`store` failed) and when one commits again (`store` ok). */
  health?: HealthReporter;
  /** Stamps audit entries and migrations; Gatehouse passes its own, so tests that move time see it here too. */
  clock?: () => number;
}

export const STORE_COMPONENT = 'store';

export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Store {
  if (path !== ':memory:') ownerOnly(path);
  const db = new DatabaseSync(path);
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new Error('busyTimeoutMs must be a non-negative integer');
  // secure_delete: deleted rows are overwritten, so a copy of the file holds no remnant of them.
  db.exec(
    `PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = ${busyTimeoutMs}; PRAGMA secure_delete = ON;`,
  );
  const statements = new Map<string, StatementSync>();
  const sql = (text: string): StatementSync => {
    let statement = statements.get(text);
    if (!statement) {
      statement = db.prepare(text);
      statements.set(text, statement);
    }
    return statement;
  };
  const transaction = <T>(work: () => T): T => {
    const result = runTransaction(db, work);
    options.health?.ok(STORE_COMPONENT);
    return result;
  };
  const clock = options.clock ?? Date.now;
  const appendAudit = (audit: AuditInput, at = clock()): void => {
    sql('INSERT INTO audit (id, at, actor, action, target_type, target_id, before, after, request_id) VALUES (?,?,?,?,?,?,?,?,?)').run(
      newId('audit', at),
      at,
      audit.actor,
      audit.action,
      audit.targetType,
      audit.targetId,
      json(audit.before),
      json(audit.after),
      audit.requestId,
    );
  };

  /** Inserts or replaces one entity row: its query columns, the whole entity as JSON, its times. */
  const writeRow = <T extends { id: string; createdAt: number; updatedAt: number }>(
    table: string,
    columns: Record<string, SQLInputValue>,
    entity: T,
    insert: boolean,
  ): number => {
    const values = { ...columns, data: JSON.stringify(entity), created_at: entity.createdAt, updated_at: entity.updatedAt };
    const names = Object.keys(values);
    const text = insert
      ? `INSERT INTO ${table} (id, ${names.join(', ')}) VALUES (?, ${names.map(() => '?').join(', ')})`
      : `UPDATE ${table} SET ${names.map((n) => `${n} = ?`).join(', ')} WHERE id = ?`;
    const args = insert ? [entity.id, ...Object.values(values)] : [...Object.values(values), entity.id];
    return Number(sql(text).run(...args).changes);
  };

  const entityRepo = <T extends { id: string; createdAt: number; updatedAt: number }>(
    table: string,
    columns: (entity: T) => Record<string, SQLInputValue>,
    /** The table has a `name` column lists may filter on (apis, apps, policies). */
    named = false,
  ): NamedEntityRepo<T> => {
    const write = (entity: T, insert: boolean): number => writeRow(table, columns(entity), entity, insert);
    return {
      async create(entity, audit) {
        transaction(() => {
          write(entity, true);
          appendAudit(audit);
        });
      },
      async get(id) {
        const row = sql(`SELECT data FROM ${table} WHERE id = ?`).get(id);
        return row ? (JSON.parse(String(row.data)) as T) : null;
      },
      async list(query: NamedPageQuery) {
        const byName = named && query.name !== undefined;
        const rows = byName
          ? sql(`SELECT data FROM ${table} WHERE name = ? AND id > ? ORDER BY id LIMIT ?`).all(query.name!, query.cursor ?? '', query.limit + 1)
          : sql(`SELECT data FROM ${table} WHERE id > ? ORDER BY id LIMIT ?`).all(query.cursor ?? '', query.limit + 1);
        return page(rows, query, (r) => JSON.parse(String(r.data)) as T);
      },
      async update(entity, audit) {
        return transaction(() => {
          if (write(entity, false) === 0) return false;
          appendAudit(audit);
          return true;
        });
      },
      async delete(id, audit) {
        return transaction(() => {
          if (Number(sql(`DELETE FROM ${table} WHERE id = ?`).run(id).changes) === 0) return false;
          appendAudit(audit);
          return true;
        });
      },
    };
  };

  const apiRepo = entityRepo<Api>('apis', (a) => ({ name: a.name, listen_path: a.listenPath, audience: a.tokens.audience }), true);
  const apis: Store['apis'] = {
    ...apiRepo,
    async all() {
      return sql('SELECT data FROM apis ORDER BY id')
        .all()
        .map((r) => JSON.parse(String(r.data)) as Api);
    },
  };
  const apps = entityRepo<App>('apps', (a) => ({ name: a.name }), true);
  const policies = entityRepo<Policy>('policies', (p) => ({ name: p.name }), true);

  const keyColumns = (k: ApiKey): Record<string, SQLInputValue> => ({
    app_id: k.appId,
    policy_id: k.policyId,
    hash: k.hash,
    environment: k.environment,
    enabled: k.enabled ? 1 : 0,
    expires_at: k.expiresAt,
    revoked_at: k.revokedAt,
    lineage_id: lineageOf(k),
  });
  const keyBase = entityRepo<ApiKey>('keys', keyColumns);
  // Usage columns are written by usage flushes, not with the entity: they win over its JSON.
  const keyFromRow = (row: Record<string, SQLInputValue>): ApiKey => {
    const { lastUsedFrom: _stale, ...key } = JSON.parse(String(row.data)) as ApiKey;
    return {
      ...key,
      lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
      ...(typeof row.last_used_from === 'string' ? { lastUsedFrom: row.last_used_from } : {}),
    };
  };
  const keys: KeyRepo = {
    ...keyBase,
    async get(id) {
      const row = sql('SELECT data, last_used_at, last_used_from FROM keys WHERE id = ?').get(id);
      return row ? keyFromRow(row) : null;
    },
    async findByHash(hash) {
      const row = sql('SELECT data, last_used_at, last_used_from FROM keys WHERE hash = ?').get(hash);
      return row ? keyFromRow(row) : null;
    },
    async list(query: KeyListQuery) {
      const where = ['id > ?'];
      const args: SQLInputValue[] = [query.cursor ?? ''];
      if (query.appId) (where.push('app_id = ?'), args.push(query.appId));
      if (query.environment) (where.push('environment = ?'), args.push(query.environment));
      if (query.exposed !== undefined) where.push(`json_extract(data, '$.exposedAt') IS ${query.exposed ? 'NOT ' : ''}NULL`);
      if (query.apiId) {
        const names = `EXISTS (SELECT 1 FROM json_each(%s, '$.access') WHERE json_extract(value, '$.apiId') = ?)`;
        where.push(
          `(${names.replace('%s', 'keys.data')} OR (json_extract(keys.data, '$.access') IS NULL AND policy_id IN (SELECT id FROM policies WHERE ${names.replace('%s', 'policies.data')})))`,
        );
        args.push(query.apiId, query.apiId);
      }
      const statusWhere: Record<string, string> = {
        revoked: 'revoked_at IS NOT NULL AND revoked_at <= ?',
        expired: 'NOT (revoked_at IS NOT NULL AND revoked_at <= ?) AND expires_at IS NOT NULL AND expires_at <= ?',
        disabled: 'NOT (revoked_at IS NOT NULL AND revoked_at <= ?) AND enabled = 0 AND (expires_at IS NULL OR expires_at > ?)',
        active: 'NOT (revoked_at IS NOT NULL AND revoked_at <= ?) AND enabled = 1 AND (expires_at IS NULL OR expires_at > ?)',
      };
      // The same precedence as keyStatus(): revoked, then expired, then disabled or active.
      if (query.status) {
        where.push(statusWhere[query.status]!);
        args.push(query.now);
        if (query.status !== 'revoked') args.push(query.now);
      }
      const rows = sql(`SELECT data, last_used_at, last_used_from FROM keys WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`).all(...args, query.limit + 1);
      return page(rows, query, keyFromRow);
    },
    async delete(id, audit) {
      return transaction(() => {
        const lineage = sql('SELECT lineage_id FROM keys WHERE id = ?').get(id)?.lineage_id ?? id;
        if (Number(sql('DELETE FROM keys WHERE id = ?').run(id).changes) === 0) return false;
        sql('DELETE FROM usage_daily WHERE key_id = ?').run(id);
        sql('DELETE FROM key_addresses WHERE key_id = ?').run(id);
        // Quota use belongs to the lineage: it goes with the lineage's last key.
        sql('DELETE FROM quota_usage WHERE key_id = ? AND NOT EXISTS (SELECT 1 FROM keys WHERE lineage_id = ?)').run(lineage, lineage);
        appendAudit(audit);
        return true;
      });
    },
    async rotate(previous, successor, audit) {
      return transaction(() => {
        if (writeRow('keys', keyColumns(previous), previous, false) === 0) return false;
        writeRow('keys', keyColumns(successor), successor, true);
        appendAudit(audit);
        return true;
      });
    },
  };

  const adminKeys: AdminKeyRepo = {
    async create(key, audit) {
      transaction(() => {
        sql('INSERT INTO admin_keys (id, hash, data, created_at, revoked_at) VALUES (?,?,?,?,?)').run(
          key.id,
          key.hash,
          JSON.stringify(key),
          key.createdAt,
          key.revokedAt,
        );
        appendAudit(audit);
      });
    },
    async findByHash(hash) {
      const row = sql('SELECT data, revoked_at FROM admin_keys WHERE hash = ?').get(hash);
      return row ? adminKeyFromRow(row) : null;
    },
    async list() {
      return sql('SELECT data, revoked_at FROM admin_keys ORDER BY id').all().map(adminKeyFromRow);
    },
    async revoke(id, at, audit) {
      return transaction(() => {
        if (Number(sql('UPDATE admin_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id).changes) === 0) return false;
        appendAudit(audit);
        return true;
      });
    },
  };

  const audit: AuditRepo = {
    async append(entry) {
      appendAudit(entry);
    },
    async list(query: AuditQuery) {
      const where = ["(? = '' OR id < ?)"];
      const args: SQLInputValue[] = [query.cursor ?? '', query.cursor ?? ''];
      if (query.targetId) (where.push('target_id = ?'), args.push(query.targetId));
      if (query.action) (where.push('action = ?'), args.push(query.action));
      const rows = sql(`SELECT * FROM audit WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`).all(...args, query.limit + 1);
      return page(rows, query, auditFromRow);
    },
  };

  const usage: UsageRepo = {
    async record(batch: UsageBatch) {
      transaction(() => {
        for (const k of batch.keys) {
          sql(
            'INSERT INTO usage_daily (key_id, day, requests) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM keys WHERE id = ?) ON CONFLICT (key_id, day) DO UPDATE SET requests = requests + excluded.requests',
          ).run(k.keyId, k.day, k.requests, k.keyId);
          // Expressions read the row as it was: the address is taken only from a use at least as recent.
          sql(
            'UPDATE keys SET last_used_from = CASE WHEN ? IS NOT NULL AND ? >= COALESCE(last_used_at, 0) THEN ? ELSE last_used_from END, last_used_at = MAX(COALESCE(last_used_at, 0), ?) WHERE id = ?',
          ).run(k.lastUsedFrom ?? null, k.lastUsedAt, k.lastUsedFrom ?? null, k.lastUsedAt, k.keyId);
        }
        for (const q of batch.quotas) {
          sql(
            'INSERT INTO quota_usage (key_id, period, used) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM keys WHERE lineage_id = ?) ON CONFLICT (key_id, period) DO UPDATE SET used = used + excluded.used',
          ).run(q.lineageId, q.period, q.delta, q.lineageId);
        }
        for (const c of batch.counters ?? []) {
          sql(
            'INSERT INTO identity_quota_usage (counter, period, used) VALUES (?, ?, ?) ON CONFLICT (counter, period) DO UPDATE SET used = used + excluded.used',
          ).run(c.counter, c.period, c.delta);
        }
        recordKeyAddresses(sql, batch);
      });
    },
    async counterUsed(counter, period) {
      const row = sql('SELECT used FROM identity_quota_usage WHERE counter = ? AND period = ?').get(counter, period);
      return row ? Number(row.used) : 0;
    },
    async quotaUsed(lineageId, period) {
      const row = sql('SELECT used FROM quota_usage WHERE key_id = ? AND period = ?').get(lineageId, period);
      return row ? Number(row.used) : 0;
    },
    async requestsByDay(keyId) {
      return sql('SELECT day, requests FROM usage_daily WHERE key_id = ? ORDER BY day')
        .all(keyId)
        .map((r) => ({
          day: String(r.day),
          requests: Number(r.requests),
        }));
    },
  };

  const keyAddresses = keyAddressRepo(sql, transaction);

  const userRepo = entityRepo<User>('users', (u) => ({ username: u.username }));
  const users: Store['users'] = {
    ...userRepo,
    async findByUsername(username) {
      const row = sql('SELECT data FROM users WHERE username = ?').get(username);
      return row ? (JSON.parse(String(row.data)) as User) : null;
    },
    async updateIfUnchanged(user, expectedUpdatedAt, audit) {
      return transaction(() => {
        const changed = sql('UPDATE users SET username = ?, data = ?, updated_at = ? WHERE id = ? AND updated_at = ?').run(
          user.username,
          JSON.stringify(user),
          user.updatedAt,
          user.id,
          expectedUpdatedAt,
        ).changes;
        if (Number(changed) === 0) return false;
        appendAudit(audit);
        return true;
      });
    },
  };
  const clients = entityRepo<OAuthClient>('oauth_clients', (c) => ({ name: c.name }));
  const signingKeyRepo = entityRepo<SigningKey>('signing_keys', () => ({}));
  const signingKeys: Store['signingKeys'] = {
    ...signingKeyRepo,
    async all() {
      return sql('SELECT data FROM signing_keys ORDER BY id')
        .all()
        .map((r) => JSON.parse(String(r.data)) as SigningKey);
    },
  };

  const live = 'AND (expires_at IS NULL OR expires_at > ?)';
  const record = (row: Record<string, SQLInputValue> | undefined): OidcPayload | null => {
    if (!row) return null;
    const payload = JSON.parse(String(row.payload)) as OidcPayload;
    return row.consumed_at === null ? payload : { ...payload, consumed: Math.floor(Number(row.consumed_at) / 1000) };
  };
  const withId = (row: Record<string, SQLInputValue> | undefined): OidcRecord | null => (row ? { id: String(row.id), payload: record(row)! } : null);
  const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
  const oidc: OidcModelRepo = {
    async upsert(model, id, payload, expiresAt) {
      sql(
        `INSERT INTO oidc_records (model, id, payload, expires_at, grant_id, uid, user_code, account_id) VALUES (?,?,?,?,?,?,?,?)
         ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at, grant_id = excluded.grant_id,
           uid = excluded.uid, user_code = excluded.user_code, account_id = excluded.account_id`,
      ).run(model, id, JSON.stringify(payload), expiresAt, text(payload.grantId), text(payload.uid), text(payload.userCode), text(payload.accountId));
    },
    async find(model, id, now) {
      return record(sql(`SELECT payload, consumed_at FROM oidc_records WHERE model = ? AND id = ? ${live}`).get(model, id, now));
    },
    async findByUid(model, uid, now) {
      return withId(sql(`SELECT id, payload, consumed_at FROM oidc_records WHERE model = ? AND uid = ? ${live}`).get(model, uid, now));
    },
    async findByUserCode(model, userCode, now) {
      return withId(sql(`SELECT id, payload, consumed_at FROM oidc_records WHERE model = ? AND user_code = ? ${live}`).get(model, userCode, now));
    },
    async consume(model, id, at) {
      sql('UPDATE oidc_records SET consumed_at = ? WHERE model = ? AND id = ? AND consumed_at IS NULL').run(at, model, id);
    },
    async destroy(model, id) {
      sql('DELETE FROM oidc_records WHERE model = ? AND id = ?').run(model, id);
    },
    async revokeByGrantId(model, grantId) {
      sql('DELETE FROM oidc_records WHERE model = ? AND grant_id = ?').run(model, grantId);
    },
    async listByGrant(model, grantId, now) {
      return sql(`SELECT id, payload, consumed_at FROM oidc_records WHERE model = ? AND grant_id = ? ${live} ORDER BY rowid`)
        .all(model, grantId, now)
        .map((row) => withId(row)!);
    },
    async listByAccount(model, accountId, now) {
      return sql(`SELECT id, payload, consumed_at FROM oidc_records WHERE model = ? AND account_id = ? ${live} ORDER BY rowid DESC`)
        .all(model, accountId, now)
        .map((row) => withId(row)!);
    },
    async deleteExpired(now) {
      return Number(sql('DELETE FROM oidc_records WHERE expires_at IS NOT NULL AND expires_at <= ?').run(now).changes);
    },
  };

  const revocations: RevocationRepo = {
    async add(r) {
      sql(
        'INSERT INTO revocations (kind, id, revoked_at, expires_at) VALUES (?,?,?,?) ON CONFLICT (kind, id) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)',
      ).run(r.kind, r.id, r.revokedAt, r.expiresAt);
    },
    async since(at, now) {
      return sql('SELECT kind, id, revoked_at, expires_at FROM revocations WHERE revoked_at >= ? AND expires_at > ? ORDER BY revoked_at, id')
        .all(at, now)
        .map((row) => ({
          kind: String(row.kind) as 'grant' | 'token',
          id: String(row.id),
          revokedAt: Number(row.revoked_at),
          expiresAt: Number(row.expires_at),
        }));
    },
    async deleteExpired(now) {
      return Number(sql('DELETE FROM revocations WHERE expires_at <= ?').run(now).changes);
    },
  };

  const requestLog: RequestLogRepo = {
    async append(entries) {
      transaction(() => {
        const insert = sql(
          // The columns in REQUEST_LOG_FIELDS order.
          `INSERT INTO request_log (at, request_id, trace_id, api_id, api, route, method, path, query, status, denial_code, duration_ms,
             upstream_ms, bytes_in, bytes_out, key_id, app_id, user_sub, client_id, address, user_agent) VALUES (${Array(21).fill('?').join(',')})`,
        );
        for (const e of entries) insert.run(...REQUEST_LOG_FIELDS.map((field) => e[field]));
      });
    },
    async query(filters, query) {
      const { where, args } = requestLogWhere(filters);
      const cursor = query.cursor === undefined ? null : parseRequestCursor(query.cursor);
      // `at <= ?` bounds the index range, so a deep page starts where the last ended instead of scanning to it.
      if (cursor) (where.push('at <= ? AND (at < ? OR id < ?)'), args.push(cursor.at, cursor.at, cursor.id));
      const rows = sql(`SELECT * FROM request_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT ?`).all(
        ...args,
        query.limit + 1,
      );
      const items = rows.slice(0, query.limit);
      const last = items.at(-1);
      return { items: items.map(requestLogEntryFromRow), nextCursor: rows.length > query.limit && last ? `${Number(last.at)}_${Number(last.id)}` : null };
    },
    async deleteBefore(day, limit) {
      const before = Date.parse(`${day}T00:00:00Z`);
      if (!Number.isFinite(before)) throw new Error(`not a day: ${day}`);
      return transaction(() =>
        Number(sql('DELETE FROM request_log WHERE id IN (SELECT id FROM request_log WHERE at < ? ORDER BY at LIMIT ?)').run(before, limit).changes),
      );
    },
  };

  return {
    ...classifyingErrors(
      { apis, apps, policies, keys, adminKeys, audit, usage, keyAddresses, users, clients, signingKeys, oidc, revocations, requestLog },
      options.health,
    ),
    async migrate() {
      db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
      const applied = new Set(
        sql('SELECT version FROM schema_migrations')
          .all()
          .map((r) => Number(r.version)),
      );
      let ran = 0;
      for (const migration of MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        transaction(() => {
          db.exec(migration.sql);
          sql('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?,?,?)').run(migration.version, migration.name, clock());
        });
        ran++;
      }
      // What a migration deleted must not linger in the write-ahead log either.
      if (ran > 0) db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      return ran;
    },
    async close() {
      db.close();
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

function page<T>(rows: Record<string, SQLInputValue>[], query: PageQuery, map: (row: Record<string, SQLInputValue>) => T): Page<T> {
  const items = rows.slice(0, query.limit).map(map);
  const last = items.at(-1) as { id: string } | undefined;
  return { items, nextCursor: rows.length > query.limit && last ? last.id : null };
}

function adminKeyFromRow(row: Record<string, SQLInputValue>): AdminKey {
  return { ...(JSON.parse(String(row.data)) as AdminKey), revokedAt: row.revoked_at === null ? null : Number(row.revoked_at) };
}

function auditFromRow(row: Record<string, SQLInputValue>): AuditEntry {
  return {
    id: String(row.id),
    at: Number(row.at),
    actor: String(row.actor),
    action: String(row.action),
    targetType: String(row.target_type) as AuditEntry['targetType'],
    targetId: String(row.target_id),
    before: row.before === null ? null : JSON.parse(String(row.before)),
    after: row.after === null ? null : JSON.parse(String(row.after)),
    requestId: row.request_id === null ? null : String(row.request_id),
  };
}

/** The filters as SQL conditions on the request log's columns, with their arguments. */
function requestLogWhere(f: RequestLogFilters): { where: string[]; args: SQLInputValue[] } {
  const where: string[] = [];
  const args: SQLInputValue[] = [];
  const add = (condition: string, ...values: SQLInputValue[]) => (where.push(condition), args.push(...values));
  if (f.since !== undefined) add('at >= ?', f.since);
  if (f.until !== undefined) add('at < ?', f.until);
  if (f.keyId !== undefined) add('key_id = ?', f.keyId);
  if (f.appId !== undefined) add('app_id = ?', f.appId);
  if (f.api !== undefined) add('(api_id = ? OR api = ?)', f.api, f.api);
  if (f.user !== undefined) add('user_sub = ?', f.user);
  if (f.clientId !== undefined) add('client_id = ?', f.clientId);
  if (f.status !== undefined) add('status BETWEEN ? AND ?', f.status.min, f.status.max);
  if (f.address !== undefined) add('address = ?', f.address);
  if (f.denialCode !== undefined) add('denial_code = ?', f.denialCode);
  return { where, args };
}

/** `<at>_<id>`: the last entry of a page, in the order pages are read. */
function parseRequestCursor(cursor: string): { at: number; id: number } {
  const match = /^(\d{1,16})_(\d{1,19})$/.exec(cursor);
  if (!match) throw new Error('not a request log cursor');
  return { at: Number(match[1]), id: Number(match[2]) };
}

const textOrNull = (value: SQLInputValue | undefined): string | null => (value === null || value === undefined ? null : String(value));

function requestLogEntryFromRow(row: Record<string, SQLInputValue>): RequestLogEntry {
  return {
    at: Number(row.at),
    requestId: String(row.request_id),
    traceId: textOrNull(row.trace_id),
    apiId: textOrNull(row.api_id),
    api: textOrNull(row.api),
    route: textOrNull(row.route),
    method: String(row.method),
    path: String(row.path),
    query: textOrNull(row.query),
    status: Number(row.status),
    denialCode: textOrNull(row.denial_code),
    durationMs: Number(row.duration_ms),
    upstreamMs: row.upstream_ms === null ? null : Number(row.upstream_ms),
    bytesIn: Number(row.bytes_in),
    bytesOut: Number(row.bytes_out),
    keyId: textOrNull(row.key_id),
    appId: textOrNull(row.app_id),
    user: textOrNull(row.user_sub),
    clientId: textOrNull(row.client_id),
    address: String(row.address),
    userAgent: textOrNull(row.user_agent),
  };
}

function json(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
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
