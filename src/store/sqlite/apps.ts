import type { App } from '../../domain/entities.ts';
import type { Store } from '../port.ts';
import { page, type SqliteDb } from './db.ts';
import { entityTable } from './entity-table.ts';

export function appRepo(db: SqliteDb): Store['apps'] {
  return {
    ...entityTable<App>(db, 'apps', (a) => ({ name: a.name, owner_user_id: a.ownerUserId ?? null }), true),
    async listByOwner(userId, query) {
      const rows = db.sql('SELECT data FROM apps WHERE owner_user_id = ? AND id > ? ORDER BY id LIMIT ?').all(userId, query.cursor ?? '', query.limit + 1);
      return page(rows, query, (r) => JSON.parse(String(r.data)) as App);
    },
    async countByOwner(userId) {
      return Number(db.sql('SELECT COUNT(*) AS n FROM apps WHERE owner_user_id = ?').get(userId)!.n);
    },
  };
}
