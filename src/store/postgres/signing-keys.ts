import type { SigningKey } from '../../domain/entities.ts';
import type { Store } from '../port.ts';
import type { PgDb } from './db.ts';
import { entityTable } from './entity-table.ts';

export function signingKeyRepo(db: PgDb): Store['signingKeys'] {
  return {
    ...entityTable<SigningKey>(db, 'signing_keys', () => ({})),
    async all() {
      return (await db.query('SELECT data FROM signing_keys ORDER BY id')).rows.map((r) => r.data as SigningKey);
    },
  };
}
