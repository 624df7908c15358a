import { keyFromRow } from '../rows.ts';
import { lineageOf, type ApiKey, type App } from '../../domain/entities.ts';
import { deleteAuditOf, type KeyListQuery, type KeyRepo } from '../port.ts';
import { appendAudit } from './audit.ts';
import { page, type PgDb, type Queryable } from './db.ts';
import { entityTable, writeRow } from './entity-table.ts';
import { revokeExchangedTokens } from './exchanged-tokens.ts';
import { waitForFlushes } from './usage.ts';

const keyColumns = (k: ApiKey): Record<string, unknown> => ({
  app_id: k.appId,
  policy_id: k.policyId,
  hash: k.hash,
  environment: k.environment,
  enabled: k.enabled,
  expires_at: k.expiresAt,
  revoked_at: k.revokedAt,
  lineage_id: lineageOf(k),
  retire_quiet_ms: k.retireWhenDrained ? k.retireWhenDrained.quietPeriodSeconds * 1000 : null,
  rotation_days: k.rotation?.periodDays ?? null,
});

/**
 * Whether a key has a rotation rule, cheaply: its own rule's period is a column (`rotation_days`), and
 * the policies with a rule are read once per query (as in the SQLite adapter, store/sqlite/keys.ts).
 */
export const HAS_ROTATION_RULE = `(keys.rotation_days IS NOT NULL
  OR keys.policy_id IN (SELECT id FROM policies WHERE policies.data->'rotation'->>'periodDays' IS NOT NULL))`;

/** The period in days: the key's own rule wins whole (domain/rotation.ts effectiveRotation), else its policy's. */
const PERIOD_DAYS = `COALESCE(keys.rotation_days,
  (SELECT (policies.data->'rotation'->>'periodDays')::double precision FROM policies WHERE policies.id = keys.policy_id))`;

/** `rotation_due` at the time in `$n`, as domain/rotation.ts decides it; never NULL, so its NOT is the complement. */
const rotationDue = (n: number) => `COALESCE(${HAS_ROTATION_RULE}
  AND keys.created_at + ${PERIOD_DAYS} * 86400000 <= $${n}
  AND NOT (keys.revoked_at IS NOT NULL AND keys.revoked_at <= $${n})
  AND (keys.expires_at IS NULL OR keys.expires_at > $${n})
  AND keys.data->>'replacedBy' IS NULL, false)`;

/** An access list's entries (none when the field is absent or null) that name the API in `$n`. */
const accessNames = (data: string, n: number) =>
  `EXISTS (SELECT 1 FROM jsonb_array_elements(CASE jsonb_typeof(${data}->'access') WHEN 'array' THEN ${data}->'access' ELSE '[]'::jsonb END) AS rule WHERE rule->>'apiId' = $${n})`;

/**
 * A key's last use as keyFromRow reads it: from key_last_use (migration 6), or from the key's own
 * columns where an older node wrote a later one during a rolling upgrade. A use without an address
 * keeps the last one known, whichever side knows it.
 */
const OWN_IS_LATER = '(keys.last_used_at IS NOT NULL AND (last_use.used_at IS NULL OR keys.last_used_at > last_use.used_at))';
export const LAST_USE_COLUMNS = `CASE WHEN ${OWN_IS_LATER} THEN keys.last_used_at ELSE last_use.used_at END AS last_used_at,
  CASE WHEN ${OWN_IS_LATER} THEN COALESCE(keys.last_used_from, last_use.used_from) ELSE COALESCE(last_use.used_from, keys.last_used_from) END AS last_used_from`;
// A lateral lookup with LIMIT: one index probe per key read. A plain join let the planner merge-join
// from the table's start (a page of the key list deep in the ids read every row before it).
export const LAST_USE_JOIN = 'LEFT JOIN LATERAL (SELECT used_at, used_from FROM key_last_use WHERE key_id = keys.id LIMIT 1) AS last_use ON true';
const KEY_WITH_LAST_USE = `keys.data, ${LAST_USE_COLUMNS} FROM keys ${LAST_USE_JOIN}`;

/**
 * Revoked and rotated are final (domain/key-lifecycle.ts), also against a change that read the key
 * before another made it so: a write that would clear or move a stored revocation, or drop or replace
 * a stored successor, changes nothing (the caller read the key before it was revoked or rotated).
 */
const keepsFinal = (k: ApiKey) => ({
  sql: (n: number) => `(revoked_at IS NULL OR revoked_at = $${n}) AND (data->>'replacedBy' IS NULL OR data->>'replacedBy' = $${n + 1})`,
  args: [k.revokedAt, k.replacedBy],
});
/** Rotated or revoked only from a key still neither: one successor per key, none for a revoked key. */
const UNROTATED_UNREVOKED = { sql: () => `revoked_at IS NULL AND data->>'replacedBy' IS NULL`, args: [] };
type Guard = { sql: (first: number) => string; args: unknown[] };
/** The key still names `successorId` as its successor, which no longer works at `at`: gone, revoked or expired (KeyCompromise.supersedes, KeyRepo.rotate's). */
const supersededAt = (successorId: string, at: number | null): Guard => ({
  sql: (n: number) =>
    `revoked_at IS NULL AND data->>'replacedBy' = $${n}::text AND NOT EXISTS (SELECT 1 FROM keys AS successor WHERE successor.id = $${n}::text
      AND NOT (successor.revoked_at IS NOT NULL AND successor.revoked_at <= $${n + 1}) AND (successor.expires_at IS NULL OR successor.expires_at > $${n + 1}))`,
  args: [successorId, at],
});
/** A guard, and with `readAt` also: the stored key is the one read (KeyRepo.update). */
const unchangedSince = (readAt: number | undefined, guard: Guard): Guard =>
  readAt === undefined ? guard : { sql: (n) => `${guard.sql(n)} AND updated_at = $${n + guard.args.length}`, args: [...guard.args, readAt] };

/** In use at the time in `$n`: neither revoked nor expired (active, disabled, or in a rotation's grace). */
const IN_USE = (n: number) => `NOT (revoked_at IS NOT NULL AND revoked_at <= $${n}) AND (expires_at IS NULL OR expires_at > $${n})`;

/** Deletes a key and what is kept about its use (inside the caller's transaction, after waitForFlushes); false when there is no such key. */
async function deleteKey(tx: Queryable, id: string): Promise<boolean> {
  const { rows } = await tx.query('DELETE FROM keys WHERE id = $1 RETURNING lineage_id', [id]);
  if (!rows[0]) return false;
  const lineage = String(rows[0].lineage_id);
  await tx.query('DELETE FROM usage_daily WHERE key_id = $1', [id]);
  await tx.query('DELETE FROM key_addresses WHERE key_id = $1', [id]);
  await tx.query('DELETE FROM key_last_use WHERE key_id = $1', [id]);
  // Quota use belongs to the lineage: it goes with the lineage's last key.
  await tx.query('DELETE FROM quota_usage WHERE key_id = $1 AND NOT EXISTS (SELECT 1 FROM keys WHERE lineage_id = $1)', [lineage]);
  return true;
}

export function keyRepo(db: PgDb): KeyRepo {
  return {
    ...entityTable<ApiKey>(db, 'keys', keyColumns),
    async update(key, audit, readAt) {
      return db.transaction(async (tx) => {
        if ((await writeRow(tx, 'keys', keyColumns(key), key, false, unchangedSince(readAt, keepsFinal(key)))) === 0) return false;
        await appendAudit(tx, audit, db.clock());
        return true;
      });
    },
    async get(id) {
      const { rows } = await db.query(`SELECT ${KEY_WITH_LAST_USE} WHERE keys.id = $1`, [id]);
      return rows[0] ? keyFromRow(rows[0]) : null;
    },
    async findByHash(hash) {
      const { rows } = await db.query(`SELECT ${KEY_WITH_LAST_USE} WHERE hash = $1`, [hash]);
      return rows[0] ? keyFromRow(rows[0]) : null;
    },
    async getByIds(ids) {
      if (ids.length === 0) return [];
      const { rows } = await db.query(`SELECT ${KEY_WITH_LAST_USE} WHERE keys.id = ANY($1::text[])`, [ids]);
      return rows.map(keyFromRow);
    },
    async list(query: KeyListQuery) {
      const args: unknown[] = [query.cursor ?? ''];
      const where = ['id > $1'];
      const arg = (value: unknown) => (args.push(value), `$${args.length}`);
      if (query.appId) where.push(`app_id = ${arg(query.appId)}`);
      if (query.environment) where.push(`environment = ${arg(query.environment)}`);
      if (query.policyId) where.push(`policy_id = ${arg(query.policyId)}`);
      if (query.expiresBefore !== undefined) {
        const now = arg(query.now);
        where.push(`expires_at > ${now} AND expires_at <= ${arg(query.expiresBefore)} AND NOT (revoked_at IS NOT NULL AND revoked_at <= ${now})`);
      }
      if (query.exposed !== undefined) where.push(`data->>'exposedAt' IS ${query.exposed ? 'NOT ' : ''}NULL`);
      if (query.apiId) {
        args.push(query.apiId);
        const n = args.length;
        // The key's own access list, else (none of its own) its policy's: domain/key-decision.ts.
        where.push(
          `(${accessNames('keys.data', n)} OR (COALESCE(jsonb_typeof(keys.data->'access'), 'null') = 'null' AND policy_id IN (SELECT id FROM policies WHERE ${accessNames('policies.data', n)})))`,
        );
      }
      if (query.rotationDue !== undefined) {
        args.push(query.now);
        where.push(query.rotationDue ? rotationDue(args.length) : `NOT ${rotationDue(args.length)}`);
      }
      if (query.status) {
        const now = arg(query.now);
        const revoked = `(revoked_at IS NOT NULL AND revoked_at <= ${now})`;
        const expired = `(expires_at IS NOT NULL AND expires_at <= ${now})`;
        // The same precedence as keyStatus(): revoked, then expired, then disabled or active.
        const statusWhere: Record<string, string> = {
          revoked,
          expired: `NOT ${revoked} AND ${expired}`,
          disabled: `NOT ${revoked} AND NOT enabled AND NOT ${expired}`,
          active: `NOT ${revoked} AND enabled AND NOT ${expired}`,
        };
        where.push(statusWhere[query.status]!);
      }
      const limit = arg(query.limit + 1);
      const { rows } = await db.query(`SELECT keys.id, ${KEY_WITH_LAST_USE} WHERE ${where.join(' AND ')} ORDER BY keys.id LIMIT ${limit}`, args);
      return page(rows, query, keyFromRow);
    },
    async revokeWhileWorking(revoked, workingId, audit, readAt) {
      return db.transaction(async (tx) => {
        const at = revoked.revokedAt;
        // The working key's row, locked (FOR SHARE): a revoke or disable of it made meanwhile waits for
        // this transaction, or has committed and is seen here (READ COMMITTED reads the newest version).
        const working = await tx.query(
          `SELECT 1 FROM keys WHERE id = $1 AND enabled AND NOT (revoked_at IS NOT NULL AND revoked_at <= $2) AND (expires_at IS NULL OR expires_at > $2) FOR SHARE`,
          [workingId, at],
        );
        if (working.rowCount === 0) return false;
        const guard = unchangedSince(readAt, { sql: () => 'revoked_at IS NULL', args: [] });
        if ((await writeRow(tx, 'keys', keyColumns(revoked), revoked, false, guard)) === 0) return false;
        await appendAudit(tx, audit, db.clock());
        return true;
      });
    },
    async inGrace(lineageId, now, except) {
      const { rows } = await db.query(
        `SELECT ${KEY_WITH_LAST_USE} WHERE keys.lineage_id = $1 AND keys.id <> $2 AND keys.data->>'replacedBy' IS NOT NULL
          AND NOT (keys.revoked_at IS NOT NULL AND keys.revoked_at <= $3) AND (keys.expires_at IS NULL OR keys.expires_at > $3)
          ORDER BY keys.expires_at DESC NULLS FIRST, keys.id LIMIT 1`,
        [lineageId, except, now],
      );
      return rows[0] ? keyFromRow(rows[0]) : null;
    },
    async expiringBetween(after, until, limit) {
      const { rows } = await db.query(
        `SELECT ${KEY_WITH_LAST_USE} WHERE expires_at > $1 AND expires_at <= $2 AND revoked_at IS NULL ORDER BY expires_at, keys.id LIMIT $3`,
        [after, until, limit],
      );
      return rows.map(keyFromRow);
    },
    async delete(id, audit) {
      return db.transaction(async (tx) => {
        // No flush under way may add usage rows the deletes below would not see.
        await waitForFlushes(tx);
        // Locked until the delete commits: the key as deleted, for the audit entry.
        const [row] = (await tx.query(`SELECT ${KEY_WITH_LAST_USE} WHERE keys.id = $1 FOR UPDATE OF keys`, [id])).rows;
        if (!row || !(await deleteKey(tx, id))) return false;
        await appendAudit(tx, deleteAuditOf(audit, keyFromRow(row)), db.clock());
        return true;
      });
    },
    async deleteAppWithRetiredKeys(appId, now, keyAudit, audit) {
      return db.transaction(async (tx) => {
        // Before the first statement, as for delete: no flush under way may add usage rows for the keys.
        await waitForFlushes(tx);
        // The app's row, locked: a key inserted for it (its foreign key, or createWithin's lock) waits
        // for this transaction, and then finds the app gone.
        if ((await tx.query('SELECT 1 FROM apps WHERE id = $1 FOR UPDATE', [appId])).rowCount === 0) return { deleted: false, why: 'missing' as const };
        const inUse = await tx.query(`SELECT 1 FROM keys WHERE app_id = $1 AND ${IN_USE(2)} LIMIT 1`, [appId, now]);
        if (inUse.rowCount) return { deleted: false, why: 'keys-in-use' as const };
        const keys = (await tx.query(`SELECT ${KEY_WITH_LAST_USE} WHERE keys.app_id = $1 ORDER BY keys.id`, [appId])).rows.map(keyFromRow);
        for (const key of keys) {
          await deleteKey(tx, key.id);
          await appendAudit(tx, keyAudit(key), db.clock());
        }
        const [app] = (await tx.query('DELETE FROM apps WHERE id = $1 RETURNING data', [appId])).rows;
        await appendAudit(tx, deleteAuditOf(audit, app!.data as App), db.clock());
        return { deleted: true, keyIds: keys.map((k) => k.id) };
      });
    },
    async compromise({ revoked, replacement, supersedes }, audit, readAt) {
      return db.transaction(async (tx) => {
        // A key rotated meanwhile has a successor now: a replacement would be a second one.
        // A successor is superseded only while it is still the stored one and no longer works.
        const guard = unchangedSince(
          readAt,
          !replacement
            ? { sql: (n: number) => `revoked_at IS NULL AND data->>'replacedBy' IS NOT DISTINCT FROM $${n}::text`, args: [revoked.replacedBy] }
            : supersedes === undefined
              ? UNROTATED_UNREVOKED
              : supersededAt(supersedes, revoked.revokedAt),
        );
        if ((await writeRow(tx, 'keys', keyColumns(revoked), revoked, false, guard)) === 0) return null;
        if (replacement) await writeRow(tx, 'keys', keyColumns(replacement), replacement, true);
        const revokedTokens = await revokeExchangedTokens(tx, revoked.id, revoked.revokedAt ?? db.clock());
        for (const entry of audit(revokedTokens)) await appendAudit(tx, entry, db.clock());
        return { revokedTokens };
      });
    },
    async createWithin(key, audit, inUse, now) {
      return db.transaction(async (tx) => {
        // Creates for one app take turns on its row (NO KEY UPDATE: other keys' inserts, which only
        // share its key, are not held up); READ COMMITTED, so the count sees the keys of the one before.
        await tx.query('SELECT 1 FROM apps WHERE id = $1 FOR NO KEY UPDATE', [key.appId]);
        const { rows } = await tx.query(`SELECT count(*)::int AS n FROM keys WHERE app_id = $1 AND ${IN_USE(2)}`, [key.appId, now]);
        if (Number(rows[0]?.n ?? 0) >= inUse) return false;
        await writeRow(tx, 'keys', keyColumns(key), key, true);
        await appendAudit(tx, audit, db.clock());
        return true;
      });
    },
    async rotate(previous, successor, audit, readAt, supersedes) {
      return db.transaction(async (tx) => {
        // A successor is superseded only while it is still the stored one and no longer works.
        const guard = unchangedSince(readAt, supersedes === undefined ? UNROTATED_UNREVOKED : supersededAt(supersedes, successor.createdAt));
        if ((await writeRow(tx, 'keys', keyColumns(previous), previous, false, guard)) === 0) return false;
        await writeRow(tx, 'keys', keyColumns(successor), successor, true);
        for (const entry of [audit].flat()) await appendAudit(tx, entry, db.clock());
        return true;
      });
    },
  };
}
