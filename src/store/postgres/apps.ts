import type { App } from '../../domain/entities.ts';
import type { Store } from '../port.ts';
import type { PgDb } from './db.ts';
import { entityTable } from './entity-table.ts';

export function appRepo(db: PgDb): Store['apps'] {
  return entityTable<App>(db, 'apps', (a) => ({ name: a.name }), true);
}
