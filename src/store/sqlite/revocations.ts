import type { RevocationRepo } from '../port.ts';
import type { SqliteDb } from './db.ts';

export function revocationRepo(db: SqliteDb): RevocationRepo {
  return {
    async add(r) {
      db.sql(
        'INSERT INTO revocations (kind, id, revoked_at, expires_at) VALUES (?,?,?,?) ON CONFLICT (kind, id) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)',
      ).run(r.kind, r.id, r.revokedAt, r.expiresAt);
    },
    async since(at, now) {
      return db
        .sql('SELECT kind, id, revoked_at, expires_at FROM revocations WHERE revoked_at >= ? AND expires_at > ? ORDER BY revoked_at, id')
        .all(at, now)
        .map((row) => ({
          kind: String(row.kind) as 'grant' | 'token',
          id: String(row.id),
          revokedAt: Number(row.revoked_at),
          expiresAt: Number(row.expires_at),
        }));
    },
    async deleteExpired(now) {
      return Number(db.sql('DELETE FROM revocations WHERE expires_at <= ?').run(now).changes);
    },
  };
}
