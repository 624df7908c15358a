import { describe } from 'node:test';
import type { Store } from '../port.ts';
import { T0, makeApp } from './fixtures.ts';
import { entityContract } from './entity.ts';

/** Apps: the entity operations (names need not be unique: see named-lists.ts). */
export function appsContract(current: () => Store): void {
  describe('apps', () => {
    entityContract(
      'app',
      current,
      (s) => s.apps,
      makeApp,
      (a) => ({ ...a, owner: 'team-x', updatedAt: T0 + 5 }),
    );
  });
}
