import type { SQLInputValue } from 'node:sqlite';
import type { OidcModelRepo, OidcPayload, OidcRecord } from '../port.ts';
import type { SqliteDb } from './db.ts';

const live = 'AND (expires_at IS NULL OR expires_at > ?)';

const record = (row: Record<string, SQLInputValue> | undefined): OidcPayload | null => {
  if (!row) return null;
  const payload = JSON.parse(String(row.payload)) as OidcPayload;
  return row.consumed_at === null ? payload : { ...payload, consumed: Math.floor(Number(row.consumed_at) / 1000) };
};
const withId = (row: Record<string, SQLInputValue> | undefined): OidcRecord | null => (row ? { id: String(row.id), payload: record(row)! } : null);
const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

export function oidcRepo(db: SqliteDb): OidcModelRepo {
  return {
    async upsert(model, id, payload, expiresAt) {
      db.sql(
        `INSERT INTO oidc_records (model, id, payload, expires_at, grant_id, uid, user_code, account_id) VALUES (?,?,?,?,?,?,?,?)
         ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at, grant_id = excluded.grant_id,
           uid = excluded.uid, user_code = excluded.user_code, account_id = excluded.account_id, version = oidc_records.version + 1`,
      ).run(model, id, JSON.stringify(payload), expiresAt, text(payload.grantId), text(payload.uid), text(payload.userCode), text(payload.accountId));
    },
    async findVersioned(model, id, now) {
      const row = db.sql(`SELECT payload, consumed_at, version FROM oidc_records WHERE model = ? AND id = ? ${live}`).get(model, id, now);
      return row ? { payload: record(row)!, version: Number(row.version) } : null;
    },
    async upsertIfVersion(model, id, payload, expiresAt, version) {
      const fields = [JSON.stringify(payload), expiresAt, text(payload.grantId), text(payload.uid), text(payload.userCode), text(payload.accountId)] as const;
      if (version === null) {
        return (
          db
            .sql(
              `INSERT INTO oidc_records (payload, expires_at, grant_id, uid, user_code, account_id, model, id) VALUES (?,?,?,?,?,?,?,?)
               ON CONFLICT (model, id) DO NOTHING`,
            )
            .run(...fields, model, id).changes === 1
        );
      }
      return (
        db
          .sql(
            `UPDATE oidc_records SET payload = ?, expires_at = ?, grant_id = ?, uid = ?, user_code = ?, account_id = ?, version = version + 1
             WHERE model = ? AND id = ? AND version = ?`,
          )
          .run(...fields, model, id, version).changes === 1
      );
    },
    async find(model, id, now) {
      return record(db.sql(`SELECT payload, consumed_at FROM oidc_records WHERE model = ? AND id = ? ${live}`).get(model, id, now));
    },
    async findByUid(model, uid, now) {
      return withId(db.sql(`SELECT id, payload, consumed_at FROM oidc_records WHERE model = ? AND uid = ? ${live}`).get(model, uid, now));
    },
    async findByUserCode(model, userCode, now) {
      return withId(db.sql(`SELECT id, payload, consumed_at FROM oidc_records WHERE model = ? AND user_code = ? ${live}`).get(model, userCode, now));
    },
    async consume(model, id, at, by) {
      return (
        db.sql('UPDATE oidc_records SET consumed_at = ?, consumed_by = ? WHERE model = ? AND id = ? AND consumed_at IS NULL').run(at, by ?? null, model, id)
          .changes === 1
      );
    },
    async unconsume(model, id, at, by) {
      // IS: equal, or both NULL (a consume made without a unique value).
      return (
        db
          .sql('UPDATE oidc_records SET consumed_at = NULL, consumed_by = NULL WHERE model = ? AND id = ? AND consumed_at = ? AND consumed_by IS ?')
          .run(model, id, at, by ?? null).changes === 1
      );
    },
    async destroy(model, id) {
      db.sql('DELETE FROM oidc_records WHERE model = ? AND id = ?').run(model, id);
    },
    async revokeByGrantId(model, grantId) {
      db.sql('DELETE FROM oidc_records WHERE model = ? AND grant_id = ?').run(model, grantId);
    },
    async revokeGrant(r) {
      db.transaction(() => {
        db.sql(
          'INSERT INTO revocations (kind, id, revoked_at, expires_at) VALUES (?,?,?,?) ON CONFLICT (kind, id) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)',
        ).run('grant', r.grantId, r.revokedAt, r.expiresAt);
        const remove = db.sql('DELETE FROM oidc_records WHERE model = ? AND grant_id = ?');
        for (const model of r.models) remove.run(model, r.grantId);
        if (r.withGrant) db.sql('DELETE FROM oidc_records WHERE model = ? AND id = ?').run('Grant', r.grantId);
      });
    },
    async listByGrant(model, grantId, now) {
      return db
        .sql(`SELECT id, payload, consumed_at FROM oidc_records WHERE model = ? AND grant_id = ? ${live} ORDER BY rowid`)
        .all(model, grantId, now)
        .map((row) => withId(row)!);
    },
    async listByAccount(model, accountId, now) {
      return db
        .sql(`SELECT id, payload, consumed_at FROM oidc_records WHERE model = ? AND account_id = ? ${live} ORDER BY rowid DESC`)
        .all(model, accountId, now)
        .map((row) => withId(row)!);
    },
    async deleteExpired(now) {
      return Number(db.sql('DELETE FROM oidc_records WHERE expires_at IS NOT NULL AND expires_at <= ?').run(now).changes);
    },
  };
}
