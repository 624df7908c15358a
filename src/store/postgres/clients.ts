import type { OAuthClient } from '../../domain/entities.ts';
import type { Store } from '../port.ts';
import { appendAudit } from './audit.ts';
import { page, type PgDb } from './db.ts';
import { entityTable, writeRow } from './entity-table.ts';

const clientColumns = (c: OAuthClient) => ({ name: c.name, app_id: c.appId ?? null });

export function clientRepo(db: PgDb): Store['clients'] {
  return {
    ...entityTable<OAuthClient>(db, 'oauth_clients', clientColumns),
    async listByApp(appId, query) {
      const { rows } = await db.query('SELECT id, data FROM oauth_clients WHERE app_id = $1 AND id > $2 ORDER BY id LIMIT $3', [
        appId,
        query.cursor ?? '',
        query.limit + 1,
      ]);
      return page(rows, query, (r) => r.data as OAuthClient);
    },
    async createWithin(client, audit, max) {
      return db.transaction(async (tx) => {
        // Creates for one app take turns on a lock of their own (the app's row need not exist);
        // READ COMMITTED, so the count sees the client of the one before.
        await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`clients of ${client.appId ?? ''}`]);
        const { rows } = await tx.query('SELECT COUNT(*) AS n FROM oauth_clients WHERE app_id = $1', [client.appId ?? null]);
        if (Number(rows[0]!.n) >= max) return false;
        await writeRow(tx, 'oauth_clients', clientColumns(client), client, true);
        await appendAudit(tx, audit, db.clock());
        return true;
      });
    },
  };
}
