import type { Policy } from '../../domain/entities.ts';
import type { Store } from '../port.ts';
import type { SqliteDb } from './db.ts';
import { entityTable } from './entity-table.ts';

export function policyRepo(db: SqliteDb): Store['policies'] {
  return entityTable<Policy>(db, 'policies', (p) => ({ name: p.name }), true);
}
