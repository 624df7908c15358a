import type { SigningKey } from '../../domain/entities.ts';
import type { Store } from '../port.ts';
import type { SqliteDb } from './db.ts';
import { entityTable } from './entity-table.ts';

export function signingKeyRepo(db: SqliteDb): Store['signingKeys'] {
  return {
    ...entityTable<SigningKey>(db, 'signing_keys', () => ({})),
    async all() {
      return db
        .sql('SELECT data FROM signing_keys ORDER BY id')
        .all()
        .map((r) => JSON.parse(String(r.data)) as SigningKey);
    },
  };
}
