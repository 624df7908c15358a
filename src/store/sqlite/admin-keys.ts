import type { SQLInputValue } from 'node:sqlite';
import type { AdminKey } from '../../domain/entities.ts';
import type { AdminKeyRepo } from '../port.ts';
import { appendAudit } from './audit.ts';
import type { SqliteDb } from './db.ts';

export function adminKeyRepo(db: SqliteDb): AdminKeyRepo {
  return {
    async create(key, audit) {
      db.transaction(() => {
        db.sql('INSERT INTO admin_keys (id, hash, data, created_at, revoked_at) VALUES (?,?,?,?,?)').run(
          key.id,
          key.hash,
          JSON.stringify(key),
          key.createdAt,
          key.revokedAt,
        );
        appendAudit(db, audit);
      });
    },
    async findByHash(hash) {
      const row = db.sql('SELECT data, revoked_at FROM admin_keys WHERE hash = ?').get(hash);
      return row ? adminKeyFromRow(row) : null;
    },
    async list() {
      return db.sql('SELECT data, revoked_at FROM admin_keys ORDER BY id').all().map(adminKeyFromRow);
    },
    async revoke(id, at, audit) {
      return db.transaction(() => {
        if (Number(db.sql('UPDATE admin_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id).changes) === 0) return false;
        appendAudit(db, audit);
        return true;
      });
    },
  };
}

function adminKeyFromRow(row: Record<string, SQLInputValue>): AdminKey {
  return { ...(JSON.parse(String(row.data)) as AdminKey), revokedAt: row.revoked_at === null ? null : Number(row.revoked_at) };
}
