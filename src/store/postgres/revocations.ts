import type { RevocationRepo } from '../port.ts';
import type { PgDb } from './db.ts';

export function revocationRepo(db: PgDb): RevocationRepo {
  return {
    async add(r) {
      await db.query(
        'INSERT INTO revocations (kind, id, revoked_at, expires_at) VALUES ($1,$2,$3,$4) ON CONFLICT (kind, id) DO UPDATE SET expires_at = GREATEST(revocations.expires_at, excluded.expires_at)',
        [r.kind, r.id, r.revokedAt, r.expiresAt],
      );
    },
    async since(at, now) {
      const { rows } = await db.query(
        'SELECT kind, id, revoked_at, expires_at FROM revocations WHERE revoked_at >= $1 AND expires_at > $2 ORDER BY revoked_at, id',
        [at, now],
      );
      return rows.map((row) => ({
        kind: String(row.kind) as 'grant' | 'token',
        id: String(row.id),
        revokedAt: Number(row.revoked_at),
        expiresAt: Number(row.expires_at),
      }));
    },
    async deleteExpired(now) {
      return (await db.query('DELETE FROM revocations WHERE expires_at <= $1', [now])).rowCount;
    },
  };
}
