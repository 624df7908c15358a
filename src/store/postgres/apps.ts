import type { App } from '../../domain/entities.ts';
import type { Store } from '../port.ts';
import { page, type PgDb } from './db.ts';
import { entityTable } from './entity-table.ts';

export function appRepo(db: PgDb): Store['apps'] {
  return {
    ...entityTable<App>(db, 'apps', (a) => ({ name: a.name, owner_user_id: a.ownerUserId ?? null }), true),
    async listByOwner(userId, query) {
      const { rows } = await db.query('SELECT data FROM apps WHERE owner_user_id = $1 AND id > $2 ORDER BY id LIMIT $3', [
        userId,
        query.cursor ?? '',
        query.limit + 1,
      ]);
      return page(rows, query, (r) => r.data as App);
    },
    async countByOwner(userId) {
      return Number((await db.query('SELECT COUNT(*) AS n FROM apps WHERE owner_user_id = $1', [userId])).rows[0]!.n);
    },
  };
}
