import type { User } from '../../domain/entities.ts';
import type { Store, UserListQuery } from '../port.ts';
import { appendAudit } from './audit.ts';
import { page, type SqliteDb } from './db.ts';
import { entityTable, writeRow } from './entity-table.ts';

const columns = (u: User) => ({ username: u.username });

export function userRepo(db: SqliteDb): Store['users'] {
  return {
    ...entityTable<User>(db, 'users', columns),
    async list(query: UserListQuery) {
      // A flag in the JSON (absent on accounts that never waited): few users, no column needed.
      const pending = query.pendingApproval === undefined ? '' : `AND IFNULL(json_extract(data, '$.pendingApproval'), 0) = ${query.pendingApproval ? 1 : 0}`;
      const rows = db.sql(`SELECT data FROM users WHERE id > ? ${pending} ORDER BY id LIMIT ?`).all(query.cursor ?? '', query.limit + 1);
      return page(rows, query, (r) => JSON.parse(String(r.data)) as User);
    },
    async findByUsername(username) {
      const row = db.sql('SELECT data FROM users WHERE username = ?').get(username);
      return row ? (JSON.parse(String(row.data)) as User) : null;
    },
    async updateIfUnchanged(user, expectedUpdatedAt, audit) {
      return db.transaction(() => {
        const changed = db
          .sql('UPDATE users SET username = ?, data = ?, updated_at = ? WHERE id = ? AND updated_at = ?')
          .run(user.username, JSON.stringify(user), user.updatedAt, user.id, expectedUpdatedAt).changes;
        if (Number(changed) === 0) return false;
        appendAudit(db, audit);
        return true;
      });
    },
    async createConsuming(user, audit, record) {
      return db.transaction(() => {
        const consumed = db
          .sql('UPDATE oidc_records SET consumed_at = ? WHERE model = ? AND id = ? AND consumed_at IS NULL AND (expires_at IS NULL OR expires_at > ?)')
          .run(record.at, record.model, record.id, record.at).changes;
        if (Number(consumed) === 0) return false;
        // A name taken throws here, and the consumption above is rolled back with it.
        writeRow(db, 'users', columns(user), user, true);
        appendAudit(db, audit);
        return true;
      });
    },
  };
}
