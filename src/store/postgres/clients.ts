import type { OAuthClient } from '../../domain/entities.ts';
import type { Store } from '../port.ts';
import { page, type PgDb } from './db.ts';
import { entityTable } from './entity-table.ts';

export function clientRepo(db: PgDb): Store['clients'] {
  return {
    ...entityTable<OAuthClient>(db, 'oauth_clients', (c) => ({ name: c.name, app_id: c.appId ?? null })),
    async listByApp(appId, query) {
      const { rows } = await db.query('SELECT id, data FROM oauth_clients WHERE app_id = $1 AND id > $2 ORDER BY id LIMIT $3', [
        appId,
        query.cursor ?? '',
        query.limit + 1,
      ]);
      return page(rows, query, (r) => r.data as OAuthClient);
    },
  };
}
