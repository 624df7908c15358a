import type { Api } from '../../domain/entities.ts';
import type { Store } from '../port.ts';
import type { SqliteDb } from './db.ts';
import { entityTable } from './entity-table.ts';

export function apiRepo(db: SqliteDb): Store['apis'] {
  return {
    ...entityTable<Api>(db, 'apis', (a) => ({ name: a.name, listen_path: a.listenPath, audience: a.tokens.audience }), true),
    async all() {
      return db
        .sql('SELECT data FROM apis ORDER BY id')
        .all()
        .map((r) => JSON.parse(String(r.data)) as Api);
    },
  };
}
