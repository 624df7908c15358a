import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { ConflictError, type Store } from '../port.ts';
import { T0, audit, makePolicy } from './fixtures.ts';
import { entityContract } from './entity.ts';

/** Policies: the entity operations and unique names. */
export function policiesContract(current: () => Store): void {
  describe('policies', () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    entityContract(
      'policy',
      current,
      (s) => s.policies,
      (n) => makePolicy(n),
      (p) => ({ ...p, scopes: ['read'], updatedAt: T0 + 5 }),
    );

    test('a second policy with a taken name throws ConflictError', async () => {
      const first = makePolicy(1);
      await store.policies.create(first, audit('policy.created', 'policy', first.id));
      const again = { ...makePolicy(2), name: first.name };
      await assert.rejects(store.policies.create(again, audit('policy.created', 'policy', again.id)), ConflictError);
    });
  });
}
