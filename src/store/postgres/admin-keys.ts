import type { AdminKey } from '../../domain/entities.ts';
import type { AdminKeyRepo } from '../port.ts';
import { appendAudit } from './audit.ts';
import type { PgDb, Row } from './db.ts';

export function adminKeyRepo(db: PgDb): AdminKeyRepo {
  return {
    async create(key, audit) {
      await db.transaction(async (tx) => {
        await tx.query('INSERT INTO admin_keys (id, hash, data, created_at, revoked_at) VALUES ($1,$2,$3,$4,$5)', [
          key.id,
          key.hash,
          JSON.stringify(key),
          key.createdAt,
          key.revokedAt,
        ]);
        await appendAudit(tx, audit, db.clock());
      });
    },
    async findByHash(hash) {
      const { rows } = await db.query('SELECT data, revoked_at FROM admin_keys WHERE hash = $1', [hash]);
      return rows[0] ? adminKeyFromRow(rows[0]) : null;
    },
    async list() {
      return (await db.query('SELECT data, revoked_at FROM admin_keys ORDER BY id')).rows.map(adminKeyFromRow);
    },
    async revoke(id, at, audit) {
      return db.transaction(async (tx) => {
        if ((await tx.query('UPDATE admin_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id])).rowCount === 0) return false;
        await appendAudit(tx, audit, db.clock());
        return true;
      });
    },
  };
}

function adminKeyFromRow(row: Row): AdminKey {
  return { ...(row.data as AdminKey), revokedAt: row.revoked_at === null ? null : Number(row.revoked_at) };
}
