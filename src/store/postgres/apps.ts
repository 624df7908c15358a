import type { App } from '../../domain/entities.ts';
import type { Store } from '../port.ts';
import { appendAudit } from './audit.ts';
import { page, type PgDb } from './db.ts';
import { entityTable, writeRow } from './entity-table.ts';

const appColumns = (a: App) => ({ name: a.name, owner_user_id: a.ownerUserId ?? null });

export function appRepo(db: PgDb): Store['apps'] {
  return {
    ...entityTable<App>(db, 'apps', appColumns, true),
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
    async createWithin(app, audit, max) {
      return db.transaction(async (tx) => {
        // Creates for one owner take turns on a lock of their own (the owner need not be a stored user);
        // READ COMMITTED, so the count sees the app of the one before.
        await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`apps of ${app.ownerUserId ?? ''}`]);
        const { rows } = await tx.query('SELECT COUNT(*) AS n FROM apps WHERE owner_user_id = $1', [app.ownerUserId ?? null]);
        if (Number(rows[0]!.n) >= max) return false;
        await writeRow(tx, 'apps', appColumns(app), app, true);
        await appendAudit(tx, audit, db.clock());
        return true;
      });
    },
  };
}
