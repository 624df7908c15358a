import { describe } from 'node:test';
import type { Store } from '../port.ts';
import { T0, makeClient } from './fixtures.ts';
import { entityContract } from './entity.ts';

/** OAuth clients: the entity operations. */
export function clientsContract(current: () => Store): void {
  describe('clients', () => {
    entityContract(
      'client',
      current,
      (s) => s.clients,
      makeClient,
      (c) => ({ ...c, scopes: ['write'], updatedAt: T0 + 5 }),
    );
  });
}
