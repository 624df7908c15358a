import type { OAuthClient } from '../../domain/entities.ts';
import type { Store } from '../port.ts';
import type { PgDb } from './db.ts';
import { entityTable } from './entity-table.ts';

export function clientRepo(db: PgDb): Store['clients'] {
  return entityTable<OAuthClient>(db, 'oauth_clients', (c) => ({ name: c.name }));
}
