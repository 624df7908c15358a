import type { OAuthClient } from '../../domain/entities.ts';
import type { Store } from '../port.ts';
import { page, type SqliteDb } from './db.ts';
import { entityTable } from './entity-table.ts';

export function clientRepo(db: SqliteDb): Store['clients'] {
  return {
    ...entityTable<OAuthClient>(db, 'oauth_clients', (c) => ({ name: c.name, app_id: c.appId ?? null })),
    async listByApp(appId, query) {
      const rows = db.sql('SELECT data FROM oauth_clients WHERE app_id = ? AND id > ? ORDER BY id LIMIT ?').all(appId, query.cursor ?? '', query.limit + 1);
      return page(rows, query, (r) => JSON.parse(String(r.data)) as OAuthClient);
    },
  };
}
