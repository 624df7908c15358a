import type { App } from '../../domain/entities.ts';
import type { Store } from '../port.ts';
import type { SqliteDb } from './db.ts';
import { entityTable } from './entity-table.ts';

export function appRepo(db: SqliteDb): Store['apps'] {
  return entityTable<App>(db, 'apps', (a) => ({ name: a.name }), true);
}
