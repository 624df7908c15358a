import type { OidcModelRepo, OidcPayload, OidcRecord } from '../port.ts';
import type { PgDb, Row } from './db.ts';

const live = '(expires_at IS NULL OR expires_at > $3)';

const record = (row: Row | undefined): OidcPayload | null => {
  if (!row) return null;
  const payload = row.payload as OidcPayload;
  return row.consumed_at === null ? payload : { ...payload, consumed: Math.floor(Number(row.consumed_at) / 1000) };
};
const withId = (row: Row | undefined): OidcRecord | null => (row ? { id: String(row.id), payload: record(row)! } : null);
const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

export function oidcRepo(db: PgDb): OidcModelRepo {
  const one = async (where: string, model: string, value: string, now: number) =>
    (await db.query(`SELECT id, payload, consumed_at FROM oidc_records WHERE model = $1 AND ${where} = $2 AND ${live}`, [model, value, now])).rows[0];
  const many = async (where: string, order: string, model: string, value: string, now: number) =>
    (
      await db.query(`SELECT id, payload, consumed_at FROM oidc_records WHERE model = $1 AND ${where} = $2 AND ${live} ORDER BY seq ${order}`, [
        model,
        value,
        now,
      ])
    ).rows.map((row) => withId(row)!);
  return {
    async upsert(model, id, payload, expiresAt) {
      await db.query(
        `INSERT INTO oidc_records (model, id, payload, expires_at, grant_id, uid, user_code, account_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)
         ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at, grant_id = excluded.grant_id,
           uid = excluded.uid, user_code = excluded.user_code, account_id = excluded.account_id, version = oidc_records.version + 1`,
        [model, id, JSON.stringify(payload), expiresAt, text(payload.grantId), text(payload.uid), text(payload.userCode), text(payload.accountId)],
      );
    },
    async findVersioned(model, id, now) {
      const { rows } = await db.query(`SELECT payload, consumed_at, version FROM oidc_records WHERE model = $1 AND id = $2 AND ${live}`, [model, id, now]);
      return rows[0] ? { payload: record(rows[0])!, version: Number(rows[0].version) } : null;
    },
    async upsertIfVersion(model, id, payload, expiresAt, version) {
      const fields = [model, id, JSON.stringify(payload), expiresAt, text(payload.grantId), text(payload.uid), text(payload.userCode), text(payload.accountId)];
      // One statement each: of two writers that read one version, the second's UPDATE waits on the first's
      // row lock, then re-checks the version and finds it moved on (READ COMMITTED).
      const result =
        version === null
          ? await db.query(
              `INSERT INTO oidc_records (model, id, payload, expires_at, grant_id, uid, user_code, account_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)
               ON CONFLICT (model, id) DO NOTHING`,
              fields,
            )
          : await db.query(
              `UPDATE oidc_records SET payload = $3, expires_at = $4, grant_id = $5, uid = $6, user_code = $7, account_id = $8, version = version + 1
               WHERE model = $1 AND id = $2 AND version = $9`,
              [...fields, version],
            );
      return result.rowCount === 1;
    },
    async find(model, id, now) {
      return record(await one('id', model, id, now));
    },
    async findByUid(model, uid, now) {
      return withId(await one('uid', model, uid, now));
    },
    async findByUserCode(model, userCode, now) {
      return withId(await one('user_code', model, userCode, now));
    },
    async consume(model, id, at, by) {
      const result = await db.query('UPDATE oidc_records SET consumed_at = $1, consumed_by = $4 WHERE model = $2 AND id = $3 AND consumed_at IS NULL', [
        at,
        model,
        id,
        by ?? null,
      ]);
      return result.rowCount === 1;
    },
    async unconsume(model, id, at, by) {
      // IS NOT DISTINCT FROM: equal, or both NULL (a consume made without a unique value).
      const result = await db.query(
        'UPDATE oidc_records SET consumed_at = NULL, consumed_by = NULL WHERE model = $1 AND id = $2 AND consumed_at = $3 AND consumed_by IS NOT DISTINCT FROM $4::text',
        [model, id, at, by ?? null],
      );
      return result.rowCount === 1;
    },
    async destroy(model, id) {
      await db.query('DELETE FROM oidc_records WHERE model = $1 AND id = $2', [model, id]);
    },
    async revokeByGrantId(model, grantId) {
      await db.query('DELETE FROM oidc_records WHERE model = $1 AND grant_id = $2', [model, grantId]);
    },
    async revokeGrant(r) {
      await db.transaction(async (tx) => {
        await tx.query(
          'INSERT INTO revocations (kind, id, revoked_at, expires_at) VALUES ($1,$2,$3,$4) ON CONFLICT (kind, id) DO UPDATE SET expires_at = GREATEST(revocations.expires_at, excluded.expires_at)',
          ['grant', r.grantId, r.revokedAt, r.expiresAt],
        );
        await tx.query('DELETE FROM oidc_records WHERE model = ANY($1::text[]) AND grant_id = $2', [[...r.models], r.grantId]);
        if (r.withGrant) await tx.query('DELETE FROM oidc_records WHERE model = $1 AND id = $2', ['Grant', r.grantId]);
      });
    },
    listByGrant: (model, grantId, now) => many('grant_id', 'ASC', model, grantId, now),
    listByAccount: (model, accountId, now) => many('account_id', 'DESC', model, accountId, now),
    async deleteExpired(now) {
      return (await db.query('DELETE FROM oidc_records WHERE expires_at IS NOT NULL AND expires_at <= $1', [now])).rowCount;
    },
  };
}
