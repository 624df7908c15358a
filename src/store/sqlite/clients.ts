import type { OAuthClient } from '../../domain/entities.ts';
import type { Store } from '../port.ts';
import { appendAudit } from './audit.ts';
import { page, type SqliteDb } from './db.ts';
import { entityTable, writeRow } from './entity-table.ts';

const clientColumns = (c: OAuthClient) => ({ name: c.name, app_id: c.appId ?? null });

export function clientRepo(db: SqliteDb): Store['clients'] {
  return {
    ...entityTable<OAuthClient>(db, 'oauth_clients', clientColumns),
    async listByApp(appId, query) {
      const rows = db.sql('SELECT data FROM oauth_clients WHERE app_id = ? AND id > ? ORDER BY id LIMIT ?').all(appId, query.cursor ?? '', query.limit + 1);
      return page(rows, query, (r) => JSON.parse(String(r.data)) as OAuthClient);
    },
    async createWithin(client, audit, max) {
      // One write transaction (BEGIN IMMEDIATE): the count and the insert, with no other writer between them.
      return db.transaction(() => {
        if (Number(db.sql('SELECT COUNT(*) AS n FROM oauth_clients WHERE app_id = ?').get(client.appId ?? null)!.n) >= max) return false;
        writeRow(db, 'oauth_clients', clientColumns(client), client, true);
        appendAudit(db, audit);
        return true;
      });
    },
  };
}
