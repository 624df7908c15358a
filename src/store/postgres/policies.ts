import type { Policy } from '../../domain/entities.ts';
import type { Store } from '../port.ts';
import type { PgDb } from './db.ts';
import { entityTable } from './entity-table.ts';

export function policyRepo(db: PgDb): Store['policies'] {
  return entityTable<Policy>(db, 'policies', (p) => ({ name: p.name }), true);
}
