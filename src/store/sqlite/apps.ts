import type { App } from '../../domain/entities.ts';
import type { Store } from '../port.ts';
import { appendAudit } from './audit.ts';
import { page, type SqliteDb } from './db.ts';
import { entityTable, writeRow } from './entity-table.ts';

const appColumns = (a: App) => ({ name: a.name, owner_user_id: a.ownerUserId ?? null });

export function appRepo(db: SqliteDb): Store['apps'] {
  return {
    ...entityTable<App>(db, 'apps', appColumns, true),
    async listByOwner(userId, query) {
      const rows = db.sql('SELECT data FROM apps WHERE owner_user_id = ? AND id > ? ORDER BY id LIMIT ?').all(userId, query.cursor ?? '', query.limit + 1);
      return page(rows, query, (r) => JSON.parse(String(r.data)) as App);
    },
    async countByOwner(userId) {
      return Number(db.sql('SELECT COUNT(*) AS n FROM apps WHERE owner_user_id = ?').get(userId)!.n);
    },
    async createWithin(app, audit, max) {
      // One write transaction (BEGIN IMMEDIATE): the count and the insert, with no other writer between them.
      return db.transaction(() => {
        if (Number(db.sql('SELECT COUNT(*) AS n FROM apps WHERE owner_user_id = ?').get(app.ownerUserId ?? null)!.n) >= max) return false;
        writeRow(db, 'apps', appColumns(app), app, true);
        appendAudit(db, audit);
        return true;
      });
    },
  };
}
