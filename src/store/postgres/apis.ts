import type { Api } from '../../domain/entities.ts';
import type { Store } from '../port.ts';
import type { PgDb } from './db.ts';
import { entityTable } from './entity-table.ts';

export function apiRepo(db: PgDb): Store['apis'] {
  return {
    ...entityTable<Api>(db, 'apis', (a) => ({ name: a.name, listen_path: a.listenPath, audience: a.tokens.audience }), true),
    async all() {
      return (await db.query('SELECT data FROM apis ORDER BY id')).rows.map((r) => r.data as Api);
    },
  };
}
