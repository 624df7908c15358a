import type { User } from '../../domain/entities.ts';
import type { Store, UserListQuery } from '../port.ts';
import { appendAudit } from './audit.ts';
import { page, type PgDb } from './db.ts';
import { entityTable, writeRow } from './entity-table.ts';

const columns = (u: User) => ({ username: u.username });

export function userRepo(db: PgDb): Store['users'] {
  return {
    ...entityTable<User>(db, 'users', columns),
    async list(query: UserListQuery) {
      // A flag in the JSON (absent on accounts that never waited), as in the SQLite adapter.
      const pending = query.pendingApproval === undefined ? '' : `AND COALESCE((data->>'pendingApproval')::boolean, false) = ${query.pendingApproval}`;
      const { rows } = await db.query(`SELECT id, data FROM users WHERE id > $1 ${pending} ORDER BY id LIMIT $2`, [query.cursor ?? '', query.limit + 1]);
      return page(rows, query, (r) => r.data as User);
    },
    async findByUsername(username) {
      // Sign-in names compare without regard to ASCII case, as on SQLite: the unique index is on lower(username COLLATE "C").
      const { rows } = await db.query('SELECT data FROM users WHERE lower(username COLLATE "C") = lower($1 COLLATE "C")', [username]);
      return rows[0] ? (rows[0].data as User) : null;
    },
    async updateIfUnchanged(user, expectedUpdatedAt, audit) {
      return db.transaction(async (tx) => {
        const { rowCount } = await tx.query('UPDATE users SET username = $1, data = $2, updated_at = $3 WHERE id = $4 AND updated_at = $5', [
          user.username,
          JSON.stringify(user),
          user.updatedAt,
          user.id,
          expectedUpdatedAt,
        ]);
        if (rowCount === 0) return false;
        await appendAudit(tx, audit, db.clock());
        return true;
      });
    },
    async createConsuming(user, audit, record) {
      return db.transaction(async (tx) => {
        const { rowCount } = await tx.query(
          'UPDATE oidc_records SET consumed_at = $1 WHERE model = $2 AND id = $3 AND consumed_at IS NULL AND (expires_at IS NULL OR expires_at > $1)',
          [record.at, record.model, record.id],
        );
        if (rowCount === 0) return false;
        // A name taken throws here, and the consumption above is rolled back with it.
        await writeRow(tx, 'users', columns(user), user, true);
        await appendAudit(tx, audit, db.clock());
        return true;
      });
    },
  };
}
