import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Store } from '../port.ts';
import { T0, audit, makeSigningKey } from './fixtures.ts';
import { entityContract } from './entity.ts';

/** Signing keys: the entity operations and all of them at once. */
export function signingKeysContract(current: () => Store): void {
  describe('signing keys', () => {
    entityContract(
      'signing_key',
      current,
      (s) => s.signingKeys,
      makeSigningKey,
      (k) => ({ ...k, retiredAt: T0 + 9 }),
    );

    test('signingKeys.all returns every key in creation order', async () => {
      const store = current();
      const keys = [makeSigningKey(1), makeSigningKey(2)];
      for (const k of keys) await store.signingKeys.create(k, audit('signing_key.created', 'signing_key', k.id));
      assert.deepEqual(await store.signingKeys.all(), keys);
    });
  });
}
