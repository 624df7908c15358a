import { keyFromRow } from '../rows.ts';
import type { SQLInputValue } from 'node:sqlite';
import { lineageOf, type ApiKey, type App } from '../../domain/entities.ts';
import { deleteAuditOf, type KeyListQuery, type KeyRepo } from '../port.ts';
import { appendAudit } from './audit.ts';
import { page, type SqliteDb } from './db.ts';
import { entityTable, writeRow } from './entity-table.ts';
import { revokeExchangedTokens } from './exchanged-tokens.ts';

const keyColumns = (k: ApiKey): Record<string, SQLInputValue> => ({
  app_id: k.appId,
  policy_id: k.policyId,
  hash: k.hash,
  environment: k.environment,
  enabled: k.enabled ? 1 : 0,
  expires_at: k.expiresAt,
  revoked_at: k.revokedAt,
  lineage_id: lineageOf(k),
  retire_quiet_ms: k.retireWhenDrained ? k.retireWhenDrained.quietPeriodSeconds * 1000 : null,
  rotation_days: k.rotation?.periodDays ?? null,
});

/**
 * Whether a key has a rotation rule, cheaply: its own rule's period is a column (`rotation_days`,
 * written with the key), and the policies with a rule are read once per query, not once per key. No
 * key's JSON is parsed for keys without a rule, which at scale are most of them.
 */
export const HAS_ROTATION_RULE = `(keys.rotation_days IS NOT NULL
  OR keys.policy_id IN (SELECT id FROM policies WHERE json_extract(policies.data, '$.rotation.periodDays') IS NOT NULL))`;

/** The period in days: the key's own rule wins whole (domain/rotation.ts effectiveRotation), else its policy's. */
const PERIOD_DAYS = `COALESCE(keys.rotation_days,
  (SELECT json_extract(policies.data, '$.rotation.periodDays') FROM policies WHERE policies.id = keys.policy_id))`;

/**
 * `rotation_due` at a time (bound three times, as `?`), as domain/rotation.ts decides it: a key in use
 * as itself (not revoked, not expired, not rotated: keyState active or disabled) older than its
 * period. Never NULL (a key without a policy makes `IN` NULL), so its NOT is the complement.
 */
const ROTATION_DUE_SQL = `IFNULL(${HAS_ROTATION_RULE}
  AND keys.created_at + ${PERIOD_DAYS} * 86400000 <= ?
  AND NOT (keys.revoked_at IS NOT NULL AND keys.revoked_at <= ?)
  AND (keys.expires_at IS NULL OR keys.expires_at > ?)
  AND json_extract(keys.data, '$.replacedBy') IS NULL, 0)`;

/** A key's last use (key_last_use, written by usage flushes) as keyFromRow reads it: the columns, and the join that finds them. */
export const LAST_USE_COLUMNS = 'last_use.used_at AS last_used_at, last_use.used_from AS last_used_from';
export const LAST_USE_JOIN = 'LEFT JOIN key_last_use AS last_use ON last_use.key_id = keys.id';
const KEY_WITH_LAST_USE = `keys.data, ${LAST_USE_COLUMNS} FROM keys ${LAST_USE_JOIN}`;

/**
 * Revoked and rotated are final (domain/key-lifecycle.ts), also against a change that read the key
 * before another made it so: a write that would clear or move a stored revocation, or drop or replace
 * a stored successor, changes nothing (the caller read the key before it was revoked or rotated).
 */
const KEEPS_FINAL = {
  sql: `(revoked_at IS NULL OR revoked_at = ?) AND (json_extract(data, '$.replacedBy') IS NULL OR json_extract(data, '$.replacedBy') = ?)`,
  args: (k: ApiKey): SQLInputValue[] => [k.revokedAt, k.replacedBy],
};
/** Rotated or revoked only from a key still neither: one successor per key, none for a revoked key. */
const UNROTATED_UNREVOKED = `revoked_at IS NULL AND json_extract(data, '$.replacedBy') IS NULL`;
/** The key with the id bound first no longer works at the time bound next (twice): gone, revoked or expired (KeyCompromise.supersedes, KeyRepo.rotate's). */
const NOT_WORKING = `NOT EXISTS (SELECT 1 FROM keys AS successor WHERE successor.id = ?
  AND NOT (successor.revoked_at IS NOT NULL AND successor.revoked_at <= ?) AND (successor.expires_at IS NULL OR successor.expires_at > ?))`;
/** A guard, and with `readAt` also: the stored key is the one read (KeyRepo.update). */
const unchangedSince = (readAt: number | undefined, sql: string, args: SQLInputValue[]) =>
  readAt === undefined ? { sql, args } : { sql: `${sql} AND updated_at = ?`, args: [...args, readAt] };

/**
 * The guard of a rotation or compromise that supersedes a successor (KeyRepo): the stored key still
 * names `supersedes`, which no longer works at `at` (revoked by then, expired, or gone).
 */
const supersededGuard = (readAt: number | undefined, supersedes: string, at: number | null) =>
  unchangedSince(readAt, `revoked_at IS NULL AND json_extract(data, '$.replacedBy') = ? AND ${NOT_WORKING}`, [supersedes, supersedes, at, at]);

/** The key with the id bound first works at the time bound next (twice): domain/key-lifecycle.ts keyWorks. */
const WORKS = `EXISTS (SELECT 1 FROM keys AS working WHERE working.id = ? AND working.enabled = 1
  AND NOT (working.revoked_at IS NOT NULL AND working.revoked_at <= ?) AND (working.expires_at IS NULL OR working.expires_at > ?))`;

/** In use at a time (bound twice): neither revoked nor expired (active, disabled, or in a rotation's grace). */
const IN_USE = 'NOT (revoked_at IS NOT NULL AND revoked_at <= ?) AND (expires_at IS NULL OR expires_at > ?)';

/** Deletes a key and what is kept about its use (inside the caller's transaction); false when there is no such key. */
function deleteKey(db: SqliteDb, id: string): boolean {
  const lineage = db.sql('SELECT lineage_id FROM keys WHERE id = ?').get(id)?.lineage_id ?? id;
  if (Number(db.sql('DELETE FROM keys WHERE id = ?').run(id).changes) === 0) return false;
  db.sql('DELETE FROM usage_daily WHERE key_id = ?').run(id);
  db.sql('DELETE FROM key_addresses WHERE key_id = ?').run(id);
  // Quota use belongs to the lineage: it goes with the lineage's last key.
  db.sql('DELETE FROM quota_usage WHERE key_id = ? AND NOT EXISTS (SELECT 1 FROM keys WHERE lineage_id = ?)').run(lineage, lineage);
  return true;
}

export function keyRepo(db: SqliteDb): KeyRepo {
  return {
    ...entityTable<ApiKey>(db, 'keys', keyColumns),
    async update(key, audit, readAt) {
      return db.transaction(() => {
        if (writeRow(db, 'keys', keyColumns(key), key, false, unchangedSince(readAt, KEEPS_FINAL.sql, KEEPS_FINAL.args(key))) === 0) return false;
        appendAudit(db, audit);
        return true;
      });
    },
    async get(id) {
      const row = db.sql(`SELECT ${KEY_WITH_LAST_USE} WHERE keys.id = ?`).get(id);
      return row ? keyFromRow(row) : null;
    },
    async findByHash(hash) {
      const row = db.sql(`SELECT ${KEY_WITH_LAST_USE} WHERE hash = ?`).get(hash);
      return row ? keyFromRow(row) : null;
    },
    async getByIds(ids) {
      if (ids.length === 0) return [];
      const rows = db.sql(`SELECT ${KEY_WITH_LAST_USE} WHERE keys.id IN (SELECT value FROM json_each(?))`).all(JSON.stringify(ids));
      return rows.map(keyFromRow);
    },
    async list(query: KeyListQuery) {
      const where = ['id > ?'];
      const args: SQLInputValue[] = [query.cursor ?? ''];
      if (query.appId) (where.push('app_id = ?'), args.push(query.appId));
      if (query.environment) (where.push('environment = ?'), args.push(query.environment));
      if (query.policyId) (where.push('policy_id = ?'), args.push(query.policyId));
      if (query.expiresBefore !== undefined) {
        where.push('expires_at > ? AND expires_at <= ? AND NOT (revoked_at IS NOT NULL AND revoked_at <= ?)');
        args.push(query.now, query.expiresBefore, query.now);
      }
      if (query.exposed !== undefined) where.push(`json_extract(data, '$.exposedAt') IS ${query.exposed ? 'NOT ' : ''}NULL`);
      if (query.apiId) {
        const names = `EXISTS (SELECT 1 FROM json_each(%s, '$.access') WHERE json_extract(value, '$.apiId') = ?)`;
        where.push(
          `(${names.replace('%s', 'keys.data')} OR (json_extract(keys.data, '$.access') IS NULL AND policy_id IN (SELECT id FROM policies WHERE ${names.replace('%s', 'policies.data')})))`,
        );
        args.push(query.apiId, query.apiId);
      }
      if (query.rotationDue !== undefined) {
        where.push(query.rotationDue ? ROTATION_DUE_SQL : `NOT ${ROTATION_DUE_SQL}`);
        args.push(query.now, query.now, query.now);
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
      const rows = db.sql(`SELECT ${KEY_WITH_LAST_USE} WHERE ${where.join(' AND ')} ORDER BY keys.id LIMIT ?`).all(...args, query.limit + 1);
      return page(rows, query, keyFromRow);
    },
    async revokeWhileWorking(revoked, workingId, audit, readAt) {
      // One write transaction (BEGIN IMMEDIATE): the successor is checked in the statement that revokes.
      return db.transaction(() => {
        const at = revoked.revokedAt;
        const guard = unchangedSince(readAt, `revoked_at IS NULL AND ${WORKS}`, [workingId, at, at]);
        if (writeRow(db, 'keys', keyColumns(revoked), revoked, false, guard) === 0) return false;
        appendAudit(db, audit);
        return true;
      });
    },
    async inGrace(lineageId, now, except) {
      const row = db
        .sql(
          `SELECT ${KEY_WITH_LAST_USE} WHERE keys.lineage_id = ? AND keys.id <> ? AND json_extract(keys.data, '$.replacedBy') IS NOT NULL
            AND NOT (keys.revoked_at IS NOT NULL AND keys.revoked_at <= ?) AND (keys.expires_at IS NULL OR keys.expires_at > ?)
            ORDER BY keys.expires_at IS NULL DESC, keys.expires_at DESC, keys.id LIMIT 1`,
        )
        .get(lineageId, except, now, now);
      return row ? keyFromRow(row) : null;
    },
    async expiringBetween(after, until, limit) {
      return db
        .sql(`SELECT ${KEY_WITH_LAST_USE} WHERE expires_at > ? AND expires_at <= ? AND revoked_at IS NULL ORDER BY expires_at, keys.id LIMIT ?`)
        .all(after, until, limit)
        .map(keyFromRow);
    },
    async delete(id, audit) {
      return db.transaction(() => {
        // Read in the write transaction: the key as deleted, for the audit entry.
        const row = db.sql(`SELECT ${KEY_WITH_LAST_USE} WHERE keys.id = ?`).get(id);
        if (!row || !deleteKey(db, id)) return false;
        appendAudit(db, deleteAuditOf(audit, keyFromRow(row)));
        return true;
      });
    },
    async deleteAppWithRetiredKeys(appId, now, keyAudit, audit) {
      return db.transaction(() => {
        if (!db.sql('SELECT 1 FROM apps WHERE id = ?').get(appId)) return { deleted: false, why: 'missing' as const };
        const inUse = db.sql(`SELECT 1 FROM keys WHERE app_id = ? AND ${IN_USE} LIMIT 1`).get(appId, now, now);
        if (inUse) return { deleted: false, why: 'keys-in-use' as const };
        const keys = db.sql(`SELECT ${KEY_WITH_LAST_USE} WHERE keys.app_id = ? ORDER BY keys.id`).all(appId).map(keyFromRow);
        for (const key of keys) {
          deleteKey(db, key.id);
          appendAudit(db, keyAudit(key));
        }
        const [app] = db.sql('DELETE FROM apps WHERE id = ? RETURNING data').all(appId);
        appendAudit(db, deleteAuditOf(audit, JSON.parse(String(app!.data)) as App));
        return { deleted: true, keyIds: keys.map((k) => k.id) };
      });
    },
    async createWithin(key, audit, inUse, now) {
      // One write transaction (BEGIN IMMEDIATE): the count and the insert, with no other writer between them.
      return db.transaction(() => {
        const row = db.sql(`SELECT count(*) AS n FROM keys WHERE app_id = ? AND ${IN_USE}`).get(key.appId, now, now);
        if (Number(row?.n ?? 0) >= inUse) return false;
        writeRow(db, 'keys', keyColumns(key), key, true);
        appendAudit(db, audit);
        return true;
      });
    },
    async rotate(previous, successor, audit, readAt, supersedes) {
      return db.transaction(() => {
        // A successor is superseded only while it is still the stored one and no longer works.
        const guard = supersedes === undefined ? unchangedSince(readAt, UNROTATED_UNREVOKED, []) : supersededGuard(readAt, supersedes, successor.createdAt);
        if (writeRow(db, 'keys', keyColumns(previous), previous, false, guard) === 0) return false;
        writeRow(db, 'keys', keyColumns(successor), successor, true);
        for (const entry of [audit].flat()) appendAudit(db, entry);
        return true;
      });
    },
    async compromise({ revoked, replacement, supersedes }, audit, readAt) {
      return db.transaction(() => {
        // A key rotated meanwhile has a successor now: a replacement would be a second one.
        // A successor is superseded only while it is still the stored one and no longer works.
        const guard = !replacement
          ? unchangedSince(readAt, `revoked_at IS NULL AND json_extract(data, '$.replacedBy') IS ?`, [revoked.replacedBy])
          : supersedes === undefined
            ? unchangedSince(readAt, UNROTATED_UNREVOKED, [])
            : supersededGuard(readAt, supersedes, revoked.revokedAt);
        if (writeRow(db, 'keys', keyColumns(revoked), revoked, false, guard) === 0) return null;
        if (replacement) writeRow(db, 'keys', keyColumns(replacement), replacement, true);
        const revokedTokens = revokeExchangedTokens(db, revoked.id, revoked.revokedAt ?? db.clock());
        for (const entry of audit(revokedTokens)) appendAudit(db, entry);
        return { revokedTokens };
      });
    },
  };
}
