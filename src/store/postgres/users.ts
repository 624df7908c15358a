import type { User } from '../../domain/entities.ts';
import type { Store } from '../port.ts';
import { appendAudit } from './audit.ts';
import type { PgDb } from './db.ts';
import { entityTable } from './entity-table.ts';

export function userRepo(db: PgDb): Store['users'] {
  return {
    ...entityTable<User>(db, 'users', (u) => ({ username: u.username })),
    async findByUsername(username) {
      // Sign-in names compare case-insensitively: the unique index is on lower(username).
      const { rows } = await db.query('SELECT data FROM users WHERE lower(username) = lower($1)', [username]);
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
  };
}
